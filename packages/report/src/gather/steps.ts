/**
 * Per pipeline step (a folder under <out>/work/): its report.json and its quarantine, rejects.jsonl,
 * counted by reason with the first few records of each reason as examples.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { rejectCategory, RejectRecord, STEP_FILES, type StepReport } from "@lwm/core";
import { formatZodError } from "@lwm/schemas";
import { z } from "zod";
import { exists } from "./discover.js";

/** Examples kept per reject reason, and reasons kept per step (all are counted). */
export const REJECT_EXAMPLES = 3;
export const REJECT_REASONS = 30;

const Counts = z.record(z.string(), z.number());

/** The parts of core's StepReport the page shows, checked at the border. */
export const StepReportView = z.object({
  step: z.string(),
  version: z.string(),
  slice: z.object({ index: z.number(), count: z.number() }).nullable(),
  ok: z.boolean(),
  units: z.object({ planned: z.number(), selected: z.number(), executed: z.number(), skipped: z.number(), failed: z.number() }),
  failures: z.array(z.object({ unit: z.string(), error: z.string() })),
  inputs: z.object({ files: z.number(), bytes: z.number() }),
  outputs: z.array(z.object({ path: z.string(), bytes: z.number(), sha256: z.string() })),
  rejects: z.object({ total: z.number(), byReason: Counts, file: z.string().nullable() }),
  metrics: z.object({ total: Counts, executed: Counts }),
  timeMs: z.number(),
  cpuMs: z.object({ user: z.number(), system: z.number() }),
  throughput: Counts,
  threads: z.object({ total: z.number(), workers: z.number() }),
  finalized: z.boolean(),
});
export type StepReportView = z.infer<typeof StepReportView>;
// The view must stay a part of what runStep writes: this line stops compiling if core's report drifts.
const _stepReportFits: StepReport extends StepReportView ? true : never = true;

export interface RejectReason {
  reason: string;
  count: number;
  examples: RejectRecord[];
}

export interface RejectsData {
  total: number;
  reasons: RejectReason[];
  /** Reasons past REJECT_REASONS, not listed. */
  reasonsLeftOut: number;
  /** Lines of rejects.jsonl that are not a RejectRecord (named in problems). */
  badLines: number;
}

export interface StepData {
  name: string;
  report: StepReportView | null;
  /** report-slice-<i>-of-<n>.json files: slices run but not (yet) finalized. */
  sliceReports: number;
  rejects: RejectsData | null;
  problems: string[];
}

export async function readRejects(path: string, problems: string[]): Promise<RejectsData> {
  const byReason = new Map<string, RejectReason>();
  let total = 0;
  let badLines = 0;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    let parsed;
    try {
      parsed = RejectRecord.safeParse(JSON.parse(line));
    } catch (err) {
      parsed = null;
      if (badLines === 0) problems.push(`${path}: line ${lineNo} is not JSON (${(err as Error).message})`);
    }
    if (!parsed?.success) {
      if (parsed && badLines === 0) problems.push(formatZodError(parsed.error, `${path}: line ${lineNo}`));
      badLines++;
      continue;
    }
    total++;
    const reason = rejectCategory(parsed.data.reason);
    const entry = byReason.get(reason) ?? { reason, count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < REJECT_EXAMPLES) entry.examples.push(parsed.data);
    byReason.set(reason, entry);
  }
  const reasons = [...byReason.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return { total, reasons: reasons.slice(0, REJECT_REASONS), reasonsLeftOut: Math.max(0, reasons.length - REJECT_REASONS), badLines };
}

export async function gatherStep(outDir: string, name: string): Promise<StepData> {
  const dir = join(outDir, "work", name);
  const s: StepData = { name, report: null, sliceReports: 0, rejects: null, problems: [] };
  s.sliceReports = (await readdir(dir)).filter((f) => /^report-slice-\d+-of-\d+\.json$/.test(f)).length;
  const reportPath = join(dir, STEP_FILES.report);
  if (await exists(reportPath)) {
    try {
      const parsed = StepReportView.safeParse(JSON.parse(await readFile(reportPath, "utf8")));
      if (parsed.success) s.report = parsed.data;
      else s.problems.push(formatZodError(parsed.error, reportPath));
    } catch (err) {
      s.problems.push(`${reportPath}: not JSON (${(err as Error).message})`);
    }
  } else {
    s.problems.push(
      s.sliceReports > 0
        ? `step ${name}: ${s.sliceReports} slice report(s) but no report.json: run lwm run again without --task-index to finalize`
        : `step ${name}: no report.json (the step did not finish)`,
    );
  }
  if (s.report && !s.report.ok)
    s.problems.push(
      `step ${name} FAILED: ${s.report.units.failed} unit(s) failed${s.report.failures[0] ? `, first: ${s.report.failures[0].unit}: ${s.report.failures[0].error}` : ""}`,
    );
  const rejectsPath = join(dir, STEP_FILES.rejects);
  if (await exists(rejectsPath)) s.rejects = await readRejects(rejectsPath, s.problems);
  return s;
}
