import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLAMA2_LWM_VOCAB, type Manifest, type ShardEntry, type ShardMetadata, type StageKind } from "@lwm/schemas";
import { shardMetadata } from "../metadata.js";
import type { PackedRow } from "../row.js";
import { writeStage, type StageLineage } from "../stage-writer.js";
import { ShardWriter } from "../writer.js";
import { randomRow, rng, testMetadata, type RowMix, DEFAULT_MIX } from "./synthetic.js";

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "lwm-shards-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `rows` random rows to `path` and returns them with the writer's entry. */
export async function writeRandomShard(
  path: string,
  opts: { rows: number; seqLen: number; rowsPerBatch: number; seed: number; mix?: RowMix },
): Promise<{ rows: PackedRow[]; entry: ShardEntry }> {
  const r = rng(opts.seed);
  const writer = await ShardWriter.create(path, testMetadata(opts.seqLen, opts.rowsPerBatch));
  const rows: PackedRow[] = [];
  for (let i = 0; i < opts.rows; i++) {
    const row = randomRow(r, opts.seqLen, opts.mix ?? DEFAULT_MIX);
    rows.push(row);
    await writer.append(row);
  }
  return { rows, entry: await writer.close() };
}

/** The lineage of a test stage: no real recipe or step made it. */
export const TEST_LINEAGE: StageLineage = {
  recipe: { name: "test", sha256: "12".repeat(32) },
  steps: [{ name: "test", version: "1" }],
  codeVersion: "lwm test",
};

/** What differs between test stages; the rest of their metadata is fixed. */
export interface TestStageFields {
  stage: string;
  stageKind: StageKind;
  seqLen: number;
  rowsPerBatch: number;
}

/** Current-format metadata of a test stage: the LWM vocabulary and stand-in hashes. */
export function testStageMetadata(fields: TestStageFields): ShardMetadata {
  return shardMetadata({ ...fields, vocab: LLAMA2_LWM_VOCAB, tokenizerSha256: "cd".repeat(32), vqganSha256: "ef".repeat(32) });
}

/**
 * A current-format stage of `rows` in `dir` (shards + manifest.json), written as pack writes one:
 * testStageMetadata and writeStage, no mixture or inputs.
 */
export async function writeTestStage(
  dir: string,
  rows: AsyncIterable<PackedRow> | Iterable<PackedRow>,
  opts: TestStageFields & { rowsPerShard?: number },
): Promise<Manifest> {
  const { rowsPerShard, ...fields } = opts;
  await mkdir(dir, { recursive: true });
  const meta = testStageMetadata(fields);
  return writeStage(dir, meta, rows, { rowsPerShard, sources: () => ({ mixture: [], inputs: [], lineage: TEST_LINEAGE }) });
}
