import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ShardEntry } from "@lwm/schemas";
import type { PackedRow } from "../row.js";
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
