/**
 * The local executor: one machine, a pool of `lwm run` slice processes (at most `parallel` at a
 * time). A slice that dies is rerun once; a step whose slices still fail is not finalized, and the
 * launch stops there naming them. Slices already done (by their markers) are not run again.
 */
import { spawn } from "node:child_process";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { formatDuration } from "@lwm/core";
import { launchDir, runArgs, type StepLaunch } from "./plan.js";
import { missingSlices, stepStatus } from "./status.js";

/** How to start `lwm`: the executable and the arguments before the command (e.g. [node, main.js]). */
export interface LwmInvocation {
  command: string;
  prefix: string[];
}

export interface LocalStepResult {
  step: string;
  /** Slices that failed twice (then finalize did not run). */
  failedSlices: number[];
  /** Slices run in this launch. */
  ran: number[];
  finalized: boolean;
}

export async function runLocalStep(plan: StepLaunch, lwm: LwmInvocation, log: (line: string) => void): Promise<LocalStepResult> {
  const todo = missingSlices(await stepStatus(plan));
  const logs = join(launchDir(plan.out, plan.step), "logs");
  await mkdir(logs, { recursive: true });
  const started = Date.now();
  log(
    `${plan.step}: ${todo.length} of ${plan.tasks} slices to run, ${plan.parallel} at a time${todo.length < plan.tasks ? ` (${plan.tasks - todo.length} done before)` : ""}`,
  );

  const failed: number[] = [];
  let finished = 0;
  const queue = [...todo];
  const worker = async (): Promise<void> => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      const logFile = join(logs, `slice-${index}.log`);
      let outcome = await runProcess(lwm, runArgs(plan, String(index)), logFile);
      if (outcome !== "ok") {
        log(`${plan.step}: slice ${index} ${outcome}; running it once more (log: ${logFile})`);
        outcome = await runProcess(lwm, runArgs(plan, String(index)), logFile);
      }
      finished += 1;
      if (outcome !== "ok") {
        failed.push(index);
        log(`${plan.step}: slice ${index} ${outcome} again; giving up on it (log: ${logFile})`);
      }
      const elapsed = (Date.now() - started) / 1000;
      const eta = finished < todo.length ? `, ETA ${formatDuration((elapsed / finished) * (todo.length - finished))}` : "";
      log(`${plan.step}: slice ${index} ${outcome === "ok" ? "done" : "FAILED"} (${finished}/${todo.length}, ${formatDuration(elapsed)}${eta})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(plan.parallel, todo.length) }, worker));

  failed.sort((a, b) => a - b);
  if (failed.length > 0) return { step: plan.step, failedSlices: failed, ran: todo, finalized: false };
  const finalizeLog = join(logs, "finalize.log");
  const outcome = await runProcess(lwm, runArgs(plan, null), finalizeLog);
  if (outcome !== "ok") log(`${plan.step}: finalize ${outcome} (log: ${finalizeLog})`);
  else log(`${plan.step}: finalized (${formatDuration((Date.now() - started) / 1000)})`);
  return { step: plan.step, failedSlices: [], ran: todo, finalized: outcome === "ok" };
}

/** Runs `lwm <args>` with its output appended to `logFile`; "ok" or how it ended. */
async function runProcess(lwm: LwmInvocation, args: string[], logFile: string): Promise<string> {
  const handle = await open(logFile, "a");
  try {
    return await new Promise<string>((resolve) => {
      const child = spawn(lwm.command, [...lwm.prefix, ...args], { stdio: ["ignore", handle.fd, handle.fd] });
      child.on("error", (err) => resolve(`could not start (${err.message})`));
      child.on("exit", (code, signal) => resolve(code === 0 ? "ok" : signal ? `died (${signal})` : `failed (exit ${code})`));
    });
  } finally {
    await handle.close();
  }
}
