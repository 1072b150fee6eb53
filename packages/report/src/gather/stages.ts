/**
 * Per stage: the manifest (zod-checked), a summary read from every row of its shards, and — unless
 * told not to — the validator's verdict on every shard. Whatever cannot be read becomes a problem
 * on the page; the other stages still show.
 */
import { join } from "node:path";
import type { Manifest } from "@lwm/schemas";
import { MANIFEST_FILE, readManifest, shardPaths, summarizeShards, validate, type ShardSummary, type ValidationError } from "@lwm/shards";
import { exists } from "./discover.js";

/** Errors kept per stage for the page (all are counted). */
const MAX_VALIDATION_ERRORS = 50;

export interface ShardVerdict {
  errors: number;
  /** Rule ids of its listed errors. */
  rules: string[];
}

export type StageValidation =
  | { ran: false }
  | {
      ran: true;
      ok: boolean;
      rows: number;
      /** Every error counted per rule. */
      errorCounts: Record<string, number>;
      /** The first errors, with shard, row and rule. */
      errors: ValidationError[];
      truncated: boolean;
      /** Per shard file: errors listed for it (with `truncated`, a shard may have more). */
      shards: Record<string, ShardVerdict>;
    };

export interface StageData {
  name: string;
  manifest: Manifest | null;
  summary: ShardSummary | null;
  validation: StageValidation;
  /** Why something is missing or wrong, in words. */
  problems: string[];
}

function verdicts(errors: readonly ValidationError[]): Record<string, ShardVerdict> {
  const out: Record<string, ShardVerdict> = {};
  for (const e of errors) {
    const v = (out[e.shard] ??= { errors: 0, rules: [] });
    v.errors++;
    if (!v.rules.includes(e.rule)) v.rules.push(e.rule);
  }
  return out;
}

export async function gatherStage(outDir: string, name: string, runValidator: boolean): Promise<StageData> {
  const dir = join(outDir, name);
  const s: StageData = { name, manifest: null, summary: null, validation: { ran: false }, problems: [] };
  if (!(await exists(dir))) {
    s.problems.push(`stage ${name}: no folder ${dir} (a step planned this stage, but the pack step has not published it)`);
    return s;
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  if (await exists(manifestPath)) {
    try {
      s.manifest = await readManifest(manifestPath);
    } catch (err) {
      s.problems.push(`stage ${name}: ${(err as Error).message}`);
    }
  } else {
    s.problems.push(`stage ${name}: no ${MANIFEST_FILE} (the pack step did not finish this stage)`);
  }
  try {
    s.summary = await summarizeShards(await shardPaths(dir));
  } catch (err) {
    s.problems.push(`stage ${name}: shards cannot be read: ${(err as Error).message}`);
  }
  if (runValidator) {
    try {
      const r = await validate(dir, { maxErrors: MAX_VALIDATION_ERRORS });
      s.validation = { ran: true, ok: r.ok, rows: r.rows, errorCounts: r.errorCounts, errors: r.errors, truncated: r.truncated, shards: verdicts(r.errors) };
      if (!r.ok) s.problems.push(`stage ${name}: lwm validate found ${Object.values(r.errorCounts).reduce((a, b) => a + (b ?? 0), 0)} error(s)`);
    } catch (err) {
      s.problems.push(`stage ${name}: the validator could not run: ${(err as Error).message}`);
    }
  }
  return s;
}
