/**
 * Training runs: a run folder's metrics.jsonl (the trainer's own reader and schema) and every
 * needle.json that `lwm eval needle` wrote inside it (by default <checkpoint>-needle/).
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { formatZodError, NeedleEvalRecord } from "@lwm/schemas";
import { METRICS_FILE, readMetrics, type MetricsRecord } from "@lwm/trainer";
import { exists } from "./discover.js";

const NEEDLE_FILE = "needle.json";
/** How deep under a run folder needle.json files are looked for (run/checkpoints/<stage>/final-needle is 4). */
const NEEDLE_DEPTH = 5;
/** Needle grids shown per run. */
export const NEEDLE_GRIDS = 8;

export interface NeedleGrid {
  /** Path relative to the run folder. */
  file: string;
  records: NeedleEvalRecord[];
}

export interface RunData {
  name: string;
  dir: string;
  records: MetricsRecord[];
  needles: NeedleGrid[];
  problems: string[];
}

async function findNeedleFiles(dir: string, depth: number): Promise<string[]> {
  if (depth < 0) return [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile() && e.name === NEEDLE_FILE) found.push(join(dir, e.name));
    else if (e.isDirectory() && !e.name.startsWith(".")) found.push(...(await findNeedleFiles(join(dir, e.name), depth - 1)));
  }
  return found;
}

export async function gatherRun(dir: string): Promise<RunData> {
  const run: RunData = { name: basename(dir), dir, records: [], needles: [], problems: [] };
  const metrics = join(dir, METRICS_FILE);
  if (await exists(metrics)) {
    try {
      run.records = await readMetrics(metrics);
    } catch (err) {
      run.problems.push((err as Error).message);
    }
  } else {
    run.problems.push(`${dir}: no ${METRICS_FILE} (not a run folder of lwm train, or it has not started)`);
  }
  const files = await findNeedleFiles(dir, NEEDLE_DEPTH);
  for (const file of files.slice(0, NEEDLE_GRIDS)) {
    try {
      const parsed = NeedleEvalRecord.array().safeParse(JSON.parse(await readFile(file, "utf8")));
      if (parsed.success) run.needles.push({ file: relative(dir, file), records: parsed.data });
      else run.problems.push(formatZodError(parsed.error, file));
    } catch (err) {
      run.problems.push(`${file}: not JSON (${(err as Error).message})`);
    }
  }
  if (files.length > NEEDLE_GRIDS) run.problems.push(`${dir}: ${files.length - NEEDLE_GRIDS} more needle.json files not shown`);
  return run;
}
