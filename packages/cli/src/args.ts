/**
 * The command-line conventions every `lwm` command shares: node:util parseArgs in strict mode,
 * `-h/--help` prints the usage to stdout (exit 0), and a flag parseArgs rejects, or the wrong
 * number of positional arguments, prints the problem and the usage to stderr (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Config<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true };

/** What parseArgs returns for `options` (flags typed from the options literal). */
export type CommandLine<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>;

/** Writes `lwm <command>: <message>` to stderr and returns exit code 2 (usage or I/O error). */
export function usageError(command: string, message: string): number {
  process.stderr.write(`lwm ${command}: ${message}\n`);
  return 2;
}

/**
 * Parses `argv` against `options` plus -h/--help. `positionals.count` is how many positional
 * arguments the command takes and `positionals.what` names them in the message. Returns the parsed
 * command line, or the exit code the command should return at once (0 after --help, 2 on bad usage).
 */
export function parseCommandLine<const O extends Options>(
  command: string,
  usage: string,
  argv: string[],
  options: O,
  positionals: { count: number; what: string },
): CommandLine<O> | number {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError(command, `${errorMessage(err)}\n${usage}`);
  }
  if (parsed.values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  if (parsed.positionals.length !== positionals.count) {
    return usageError(command, `expected ${positionals.what}, got ${parsed.positionals.length}\n${usage}`);
  }
  // parseArgs checked every flag against `options`, so the values have the types `options` declares.
  return parsed as CommandLine<O>;
}

/** A flag's whole-number value written as plain digits ("12"), or null for anything else ("", "1e2", "-1", "1.5"). */
export function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** The message of a thrown value (an Error's message, anything else as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error from the file system or another system call (it carries an errno code such as ENOENT). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string";
}

/**
 * `--flag -1` written as `--flag=-1` for the string flags of `options`, so that a negative value
 * reaches the flag's own check (and its clear message) instead of parseArgs's "ambiguous" error.
 */
export function joinNegativeValues(argv: readonly string[], options: Record<string, { type: "string" | "boolean" }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}

/** JSON text with a leading UTF-8 byte-order mark (as some Windows editors save it) removed. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
