/** Helpers of the QA end-to-end tests: generated books (seafaring-book.ts), polling, and the step report's shape. */
import { setTimeout as sleep } from "node:timers/promises";

export { book } from "../pipelines/qa/src/test-helpers/seafaring-book.js";

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
