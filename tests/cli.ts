/**
 * The real `lwm` CLI (the built dist) and other programs in child processes, for every end-to-end test. Asynchronous on
 * purpose: a run of minutes under spawnSync blocks the test worker's event loop and starves
 * vitest's worker RPC on a loaded machine ("Timeout calling onTaskUpdate"), failing a file whose
 * tests passed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(repoRoot, "packages/cli/dist/main.js");

export interface CliResult {
  /** The exit status; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `program <args>` started in the repository root, with `env` over this process's environment; `done` settles when it has exited and its output is read. */
export function child(program: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const started = spawn(program, args, { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  started.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  started.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child: started, done: new Promise((resolve) => started.on("close", (code) => resolve({ code, stdout, stderr }))) };
}

/** `lwm <args>` started (see child). */
export const lwmChild = (args: string[], env: NodeJS.ProcessEnv = {}) => child(process.execPath, [CLI, ...args], env);

/** `lwm <args>` to completion. */
export const lwm = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => lwmChild(args, env).done;

/** `lwm <args>` to completion with LWM_LOG_LEVEL=warn (only warnings and errors on stderr), for runs whose progress lines the test does not read. */
export const lwmQuiet = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => lwm(args, { LWM_LOG_LEVEL: "warn", ...env });
