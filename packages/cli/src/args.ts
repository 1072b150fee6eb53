/**
 * The command-line conventions every `lwm` command shares: `-h/--help` prints the usage to stdout
 * (exit 0); a flag parseArgs rejects, or the wrong number of positional arguments, prints the
 * problem and the usage to stderr (exit 2).
 */

/** Writes `lwm <command>: <message>` to stderr and returns exit code 2 (usage or I/O error). */
export function usageError(command: string, message: string): number {
  process.stderr.write(`lwm ${command}: ${message}\n`);
  return 2;
}

/**
 * Runs `parse` (the command's own node:util parseArgs call, so its flags keep their precise types)
 * and applies the shared conventions. `positionals.count` is how many positional arguments the
 * command takes and `positionals.what` names them for the message. Returns the parsed command
 * line, or the exit code the command should return at once (0 after --help, 2 on bad usage).
 */
export function parseCommandLine<P extends { values: { help?: boolean | undefined }; positionals: string[] }>(
  command: string,
  usage: string,
  parse: () => P,
  positionals: { count: number; what: string },
): P | number {
  let parsed: P;
  try {
    parsed = parse();
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
  return parsed;
}

/** The message of a thrown value (an Error's message, anything else as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error from the file system or another system call (it carries an errno code such as ENOENT). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string";
}
