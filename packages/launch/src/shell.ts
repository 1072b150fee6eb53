import { execFile } from "node:child_process";

/** Quotes one word for a POSIX shell (left bare when it is plainly safe). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Runs a program (no shell) and resolves with its stdout; rejects with its stderr named. */
export function runProgram(program: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
