/** Log lines go to stderr (stdout is kept for results such as `--json` reports). */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry `scope` (e.g. the step name). */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** One JSON object per line instead of human-readable text. */
  json?: boolean;
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void;
  scope?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return;
    const time = new Date().toISOString();
    if (options.json) {
      write(`${JSON.stringify({ time, level, scope: options.scope, message, ...fields })}\n`);
      return;
    }
    const scope = options.scope ? ` [${options.scope}]` : "";
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    write(`${time} ${level.toUpperCase().padEnd(5)}${scope} ${message}${extra}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (scope) => createLogger({ ...options, scope: options.scope ? `${options.scope}/${scope}` : scope }),
  };
}

/** A logger that drops everything (library defaults, quiet tests). */
export const silentLogger: Logger = createLogger({ level: "error", write: () => undefined });
