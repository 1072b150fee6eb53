/**
 * Where a launched step stands, from its markers and, where a scheduler still lists the jobs, from
 * the scheduler. "missing" is every slice a relaunch would submit again: failed, started but gone,
 * or never started.
 */
import { hostname } from "node:os";
import { isAlive } from "@lwm/core";
import { readRunMarkers, type RunMarkerSet } from "./markers.js";
import { markerScope, slicesOf, type StepLaunch } from "./plan.js";

export type RunState = "done" | "running" | "pending" | "missing";

export interface RunStatus {
  state: RunState;
  /** For people: why it is missing, where it runs. */
  detail: string;
}

export interface SliceStatus extends RunStatus {
  index: number;
}

export interface StepStatus {
  step: string;
  executor: StepLaunch["executor"];
  tasks: number;
  slices: SliceStatus[];
  finalize: RunStatus;
}

/** A scheduler's view of a step's jobs (e.g. squeue): its state name, or undefined when it lists no such job. */
export interface QueueView {
  slice(index: number): string | undefined;
  finalize(): string | undefined;
}

const RUNNING = new Set(["RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING"]);
const PENDING = new Set(["PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"]);

export async function stepStatus(plan: StepLaunch, queue?: QueueView): Promise<StepStatus> {
  const scope = markerScope(plan);
  const slices: SliceStatus[] = [];
  for (const slice of slicesOf(plan)) {
    slices.push({ index: slice.index, ...runStatus(await readRunMarkers(scope, slice), queue?.slice(slice.index), queue !== undefined) });
  }
  const finalize = runStatus(await readRunMarkers(scope, null), queue?.finalize(), queue !== undefined);
  return { step: plan.step, executor: plan.executor, tasks: plan.tasks, slices, finalize };
}

/** `queued`: the scheduler's state of the job, if it lists one; `asked`: whether a scheduler was asked at all. */
function runStatus(markers: RunMarkerSet, queued: string | undefined, asked: boolean): RunStatus {
  if (markers.done) return { state: "done", detail: `done on ${markers.done.host} at ${markers.done.time}` };
  if (queued && RUNNING.has(queued)) return { state: "running", detail: `scheduler: ${queued}` };
  if (queued && PENDING.has(queued)) return { state: "pending", detail: `scheduler: ${queued}` };
  if (markers.failed) return { state: "missing", detail: `failed: ${markers.failed.error ?? "unknown error"}` };
  const start = markers.start;
  if (start) {
    if (start.host === hostname()) {
      return isAlive(start.pid)
        ? { state: "running", detail: `pid ${start.pid} since ${start.time}` }
        : { state: "missing", detail: `started at ${start.time} (pid ${start.pid}), no longer running` };
    }
    // Another machine's process, and no scheduler lists it: it died without a failure marker
    // (SIGKILL, node loss) if a scheduler was asked, otherwise we cannot tell.
    return asked
      ? { state: "missing", detail: `started on ${start.host} at ${start.time}, no longer running` }
      : { state: "running", detail: `started on ${start.host} at ${start.time} (no scheduler to ask)` };
  }
  return { state: "missing", detail: queued ? `scheduler: ${queued}, never started` : "not started" };
}

/** The slices a relaunch submits again. */
export function missingSlices(status: StepStatus): number[] {
  return status.slices.filter((s) => s.state === "missing").map((s) => s.index);
}

/** One line per step, e.g. `books  4 slices (slurm): 3 done, 1 missing [2: failed: stopped by SIGTERM]; finalize: pending`. */
export function formatStatus(status: StepStatus): string {
  const count = (state: RunState) => status.slices.filter((s) => s.state === state).length;
  const parts = (["done", "running", "pending", "missing"] as const).filter((s) => count(s) > 0 || s === "done").map((s) => `${count(s)} ${s}`);
  const missing = status.slices.filter((s) => s.state === "missing");
  const list = missing.length > 0 ? ` [${missing.map((s) => `${s.index}: ${s.detail}`).join("; ")}]` : "";
  const fin = status.finalize.state === "missing" ? `not done (${status.finalize.detail})` : status.finalize.state;
  return `${status.step}  ${status.tasks} slices (${status.executor}): ${parts.join(", ")}${list}; finalize: ${fin}`;
}
