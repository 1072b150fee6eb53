import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The built `lwm` entry point: the tests run the command as users do, in a child process. */
export const MAIN = resolve(fileURLToPath(import.meta.url), "../../../dist/main.js");

/** Throws (for a beforeAll) when the cli has not been built, naming the command that builds it. */
export function requireBuiltCli(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the cli first (npx tsc -p packages/cli/tsconfig.build.json)`);
}

/** Runs `lwm <args>` and resolves with its exit code and output (a non-zero exit is not an error). */
export function lwm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
