/**
 * What an output root holds, found by looking (no recipe needed): stage folders, step folders
 * under work/, run folders under runs/ (plus any given with --runs), and the stages the steps
 * expected, so a stage the pack step never published still shows up as missing.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { STEP_FILES } from "@lwm/core";
import { RESERVED_STAGE_NAMES } from "@lwm/schemas";
import { MANIFEST_FILE } from "@lwm/shards";
import { METRICS_FILE } from "@lwm/trainer";
import { z } from "zod";

export interface DatasetFiles {
  outDir: string;
  /** Stage names: folders with a manifest or shards, and stages a step report names; sorted. */
  stages: string[];
  /** Step folder names under work/, in pipeline order where known, then by name. */
  steps: string[];
  /** Run folders: <out>/runs/* with a metrics.jsonl, then the --runs folders. */
  runs: string[];
}

/** Steps in the order `lwm run` runs them; unknown steps (future ones) follow by name. */
const PIPELINE_ORDER = ["books", "vision", "qa", "recall", "pack"];

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The stage names a step's report.json mentions: books' details.stages, pack's details keys. */
const BooksDetails = z.object({ stages: z.record(z.string(), z.unknown()) });
const PackDetails = z.record(z.string(), z.object({ rows: z.number() }));

async function stagesNamedByReports(outDir: string): Promise<string[]> {
  const names: string[] = [];
  const read = async (step: string): Promise<unknown> => {
    try {
      return (JSON.parse(await readFile(join(outDir, "work", step, STEP_FILES.report), "utf8")) as { details?: unknown }).details;
    } catch {
      return undefined;
    }
  };
  const books = BooksDetails.safeParse(await read("books"));
  if (books.success) names.push(...Object.keys(books.data.stages));
  const pack = PackDetails.safeParse(await read("pack"));
  if (pack.success) names.push(...Object.keys(pack.data));
  return names;
}

export async function discover(outDir: string, extraRuns: readonly string[] = []): Promise<DatasetFiles> {
  const info = await stat(outDir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`${outDir}: not a folder (give the --out folder of lwm run)`);
  const stageDirs: string[] = [];
  for (const name of await subdirs(outDir)) {
    if (RESERVED_STAGE_NAMES.includes(name)) continue;
    const dir = join(outDir, name);
    const hasShards = (await exists(join(dir, MANIFEST_FILE))) || (await readdir(dir)).some((f) => f.endsWith(".arrow"));
    if (hasShards) stageDirs.push(name);
  }
  const stages = [...new Set([...stageDirs, ...(await stagesNamedByReports(outDir))])].filter((s) => !RESERVED_STAGE_NAMES.includes(s)).sort();
  const rank = (s: string) => (PIPELINE_ORDER.includes(s) ? PIPELINE_ORDER.indexOf(s) : PIPELINE_ORDER.length);
  const steps = (await subdirs(join(outDir, "work"))).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const runs: string[] = [];
  for (const name of await subdirs(join(outDir, "runs"))) {
    if (await exists(join(outDir, "runs", name, METRICS_FILE))) runs.push(join(outDir, "runs", name));
  }
  for (const r of extraRuns) if (!runs.some((x) => resolve(x) === resolve(r))) runs.push(r);
  return { outDir, stages, steps, runs };
}
