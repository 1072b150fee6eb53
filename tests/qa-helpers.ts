/** Helpers of the QA end-to-end tests: generated books (seafaring-book.ts) and `lwm` children that do not block the test's loopback server. */
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI, repoRoot, type CliResult } from "./books-helpers.js";

export { book } from "../pipelines/qa/src/test-helpers/seafaring-book.js";

/** `lwm <args>` in a child process without blocking this one (the loopback server lives here). */
export function lwmChild(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, done: new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr }))) };
}

export const lwmAsync = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> => lwmChild(args, env).done;

/** Polls `condition` every 50 ms until it holds (the test's own timeout bounds the wait). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(50);
}

/** The parts of a step report (`lwm run --json`) the QA tests read. */
export interface StepReportJson {
  step: string;
  ok: boolean;
  units: { executed: number; skipped: number };
  metrics: { total: Record<string, number>; executed: Record<string, number> };
  rejects: { byReason: Record<string, number> };
  details: { sources?: Record<string, { counters: Record<string, number> }> } | null;
}
