import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { sha256File } from "@lwm/core";
import { formatZodError, Manifest, stageKindOf, type ShardEntry } from "@lwm/schemas";
import { ShardError } from "../errors.js";
import { MANIFEST_FILE, manifestTotals, stageManifestsIn } from "../manifest.js";
import { ShardReader } from "../reader.js";
import { sumTaskCounts } from "../tasks.js";
import { checkBatch, type BatchStats } from "./check-batch.js";
import { ErrorCollector, type ValidationReport } from "./report.js";

export interface ValidateOptions {
  /** Errors kept in the report (all are counted per rule). Default 100. */
  maxErrors?: number;
}

/** The target cannot be validated at all (missing path, nothing to validate): a usage or I/O error, not an invalid shard. */
export class ValidateTargetError extends Error {
  override name = "ValidateTargetError";
}

interface ShardResult extends BatchStats {
  rows: number;
  tokens: number;
  bytes: number;
  sha256: string;
  stage: string | null;
  stageKind: string | null;
  seqLen: number | null;
}

/**
 * Every rule on every row of one shard. Errors go to `errors`; returns what the shard holds. With
 * `withHash`, the sha256 is computed from the bytes the checks read (a sound stream is exactly its
 * schema message, its batch messages and EOS, back to back), or by a separate pass when the stream
 * is not sound.
 */
async function validateShard(path: string, errors: ErrorCollector, withHash: boolean): Promise<ShardResult> {
  const name = basename(path);
  const result: ShardResult = {
    rows: 0,
    tokens: 0,
    bytes: 0,
    sha256: "",
    realTokens: 0,
    lossTokens: 0,
    segments: 0,
    tasks: {},
    stage: null,
    stageKind: null,
    seqLen: null,
  };
  let reader: ShardReader;
  try {
    reader = await ShardReader.open(path);
  } catch (err) {
    if (!(err instanceof ShardError)) throw err;
    errors.add(name, err.rule, err.detail, err.row, err.token);
    result.bytes = (await stat(path).catch(() => ({ size: 0 }))).size;
    if (withHash) result.sha256 = await sha256File(path).catch(() => "");
    return result;
  }
  const hash = withHash ? createHash("sha256") : null;
  let hashComplete = true;
  try {
    const { layout, meta } = reader;
    result.bytes = layout.fileBytes;
    result.stage = meta.stage;
    result.stageKind = stageKindOf(meta);
    result.seqLen = meta.seqLen;
    hash?.update(await reader.readBytes(0, layout.schemaLength));
    for (let i = 0; i < reader.numBatches; i++) {
      const block = reader.batchLayout(i);
      const firstRow = reader.batchFirstRow(i);
      result.rows += block.rows;
      result.tokens += block.rows * meta.seqLen;
      const nulls = block.nodes.findIndex((n) => n.nullCount !== 0);
      if (nulls >= 0)
        errors.add(name, "arrow.batch", `batch ${i}: field node ${nulls} has ${block.nodes[nulls]!.nullCount} nulls; shards hold no nulls`, firstRow);
      let batch;
      try {
        const read = await reader.readBatchMessage(i);
        batch = read.batch;
        hash?.update(read.bytes);
      } catch (err) {
        if (!(err instanceof ShardError)) throw err;
        errors.add(name, err.rule, err.detail, err.row, err.token);
        hashComplete = false;
        continue;
      }
      const stats = checkBatch(batch, meta, name, firstRow, errors);
      result.realTokens += stats.realTokens;
      result.lossTokens += stats.lossTokens;
      result.segments += stats.segments;
      result.tasks = sumTaskCounts(result.tasks, stats.tasks);
    }
    hash?.update(await reader.readBytes(layout.eosOffset, layout.fileBytes - layout.eosOffset));
  } finally {
    await reader.close();
  }
  if (hash) result.sha256 = hashComplete ? hash.digest("hex") : await sha256File(path);
  return result;
}

function compareEntry(entry: ShardEntry, got: ShardResult, errors: ErrorCollector): void {
  if (entry.sha256 !== got.sha256) errors.add(entry.file, "manifest.sha256", `sha256 is ${got.sha256}, manifest says ${entry.sha256}`);
  const fields = ["bytes", "rows", "tokens", "realTokens", "lossTokens", "segments"] as const;
  const wrong = fields.filter((f) => entry[f] !== got[f]).map((f) => `${f} ${got[f]} (manifest ${entry[f]})`);
  if (wrong.length > 0) errors.add(entry.file, "manifest.counts", `counts differ from the manifest: ${wrong.join(", ")}`);
}

/** False for a missing path (or one this process cannot stat) as well as for a directory. */
async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function arrowFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".arrow")).sort();
}

async function validateManifest(manifestPath: string, errors: ErrorCollector, report: ValidationReport): Promise<void> {
  const dir = dirname(manifestPath);
  const mname = basename(manifestPath);
  let manifest: Manifest | null = null;
  try {
    const parsed = Manifest.safeParse(JSON.parse(await readFile(manifestPath, "utf8")));
    if (parsed.success) manifest = parsed.data;
    else errors.add(mname, "manifest.schema", formatZodError(parsed.error));
  } catch (err) {
    errors.add(mname, err instanceof SyntaxError ? "manifest.schema" : "io.read", (err as Error).message);
  }
  const onDisk = await arrowFilesIn(dir);
  if (!manifest) {
    // Without a manifest to compare with, still prove every shard beside it.
    for (const f of onDisk) tally(report, await validateShard(join(dir, f), errors, false));
    return;
  }
  const listed = new Set<string>();
  const shardTasks: BatchStats["tasks"][] = [];
  for (const entry of manifest.shards) {
    if (listed.has(entry.file)) {
      errors.add(mname, "manifest.files", `shard ${entry.file} is listed more than once`);
      continue;
    }
    listed.add(entry.file);
    const path = join(dir, entry.file);
    if (!(await isFile(path))) {
      errors.add(entry.file, "manifest.files", `listed in ${mname} but not found at ${path}`);
      continue;
    }
    const got = await validateShard(path, errors, true);
    tally(report, got);
    shardTasks.push(got.tasks);
    compareEntry(entry, got, errors);
    if (got.stage !== null && (got.stage !== manifest.stage || got.seqLen !== manifest.seqLen || got.stageKind !== stageKindOf(manifest))) {
      const says = (m: { stage: string | null; stageKind: string | null; seqLen: number | null }) =>
        `stage ${m.stage} (${m.stageKind ?? "kind not recorded"}) seqLen ${m.seqLen}`;
      errors.add(entry.file, "manifest.meta", `shard is ${says(got)}, manifest says ${says({ ...manifest, stageKind: stageKindOf(manifest) })}`);
    }
  }
  for (const f of onDisk) if (!listed.has(f)) errors.add(f, "manifest.files", `${f} is in ${dir} but not listed in ${mname}`);
  const want = manifestTotals(manifest.shards);
  const t = manifest.totals;
  const wrong = (["rows", "tokens", "realTokens", "lossTokens", "segments"] as const)
    .filter((k) => t[k] !== want[k])
    .map((k) => `${k} ${t[k]} (sum of shards ${want[k]})`);
  if (Math.abs(t.fill - want.fill) > 1e-9) wrong.push(`fill ${t.fill} (realTokens/tokens = ${want.fill})`);
  if (manifest.formatVersion === 3) {
    const [said, counted] = [sumTaskCounts(manifest.totals.tasks), sumTaskCounts(...shardTasks)];
    if (JSON.stringify(said) !== JSON.stringify(counted)) wrong.push(`tasks ${JSON.stringify(said)} (task column ${JSON.stringify(counted)})`);
  }
  if (wrong.length > 0) errors.add(mname, "manifest.totals", `totals differ from the shard entries: ${wrong.join(", ")}`);
}

function tally(report: ValidationReport, r: ShardResult): void {
  report.shards++;
  report.rows += r.rows;
  report.tokens += r.tokens;
}

/**
 * Validates a shard file, a directory (its manifest.json if present, else every .arrow file in it,
 * else every <stage>/manifest.json under it, as `lwm run --out DIR` lays them out)
 * or a manifest.json: every rule in RULES on every row of every batch. A lone shard (or a directory
 * without a manifest) gets the structural and content checks only; with a manifest, sha256 and
 * counts are compared too. Throws ValidateTargetError when there is nothing to validate.
 */
export async function validate(target: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const errors = new ErrorCollector(options.maxErrors ?? 100);
  const report: ValidationReport = { ok: false, shards: 0, rows: 0, tokens: 0, errors: [], errorCounts: {}, truncated: false };
  const info = await stat(target).catch((err: Error) => {
    throw new ValidateTargetError(`${target}: ${err.message}`);
  });
  if (info.isDirectory()) {
    const manifest = join(target, MANIFEST_FILE);
    if (await isFile(manifest)) await validateManifest(manifest, errors, report);
    else {
      const files = await arrowFilesIn(target);
      const stages = files.length > 0 ? [] : await stageManifestsIn(target);
      if (files.length === 0 && stages.length === 0) {
        throw new ValidateTargetError(`${target}: no ${MANIFEST_FILE}, no .arrow shards and no <stage>/${MANIFEST_FILE} in this directory`);
      }
      for (const f of files) tally(report, await validateShard(join(target, f), errors, false));
      for (const m of stages) await validateManifest(m, errors, report);
    }
  } else if (target.endsWith(".json")) {
    await validateManifest(target, errors, report);
  } else {
    tally(report, await validateShard(target, errors, false));
  }
  report.errors = errors.errors;
  report.errorCounts = errors.counts;
  report.truncated = errors.truncated;
  report.ok = errors.total === 0;
  return report;
}
