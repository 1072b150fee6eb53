import { join } from "node:path";
import { MANIFEST_FILE, readManifest, ShardReader } from "@lwm/shards";
import { stageKindOf, type Manifest, type StageKind, type VocabLayout } from "@lwm/schemas";
import type { TrainRow } from "../model/api.js";

/**
 * The packed rows of one stage, out/<stage>/manifest.json and the shards it lists, addressed by a
 * global row index (shards concatenated in manifest order). Rows are read on demand through each
 * shard's ShardReader (O(1) to locate, a few decoded record batches cached per shard).
 */
export class StageDataset {
  private readonly firstRow: number[] = [];

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly readers: ShardReader[],
    readonly vocab: VocabLayout,
  ) {
    let r = 0;
    for (const s of manifest.shards) {
      this.firstRow.push(r);
      r += s.rows;
    }
  }

  /**
   * Opens `<dir>/manifest.json` and every shard it lists, checking that each shard belongs to the
   * stage (stage name, seq_len, row count, vocabulary) so a mixed-up folder fails before training.
   */
  static async open(dir: string, expect: { stage: string; seqLen: number; kind: StageKind }): Promise<StageDataset> {
    const manifestPath = join(dir, MANIFEST_FILE);
    const manifest = await readManifest(manifestPath);
    if (manifest.stage !== expect.stage) throw new Error(`${manifestPath}: stage is "${manifest.stage}", the recipe's stage is "${expect.stage}"`);
    if (manifest.seqLen !== expect.seqLen)
      throw new Error(`${manifestPath}: seqLen ${manifest.seqLen}, the recipe's stage "${expect.stage}" has seqLen ${expect.seqLen}`);
    // Format 1 did not record the kind; from format 2 on, the loss rule's branch must be the recipe's.
    const kind = stageKindOf(manifest);
    if (kind !== null && kind !== expect.kind)
      throw new Error(
        `${manifestPath}: the shards are a "${kind}" stage, the recipe's stage "${expect.stage}" is "${expect.kind}" (the loss would be computed with the wrong rule)`,
      );
    if (manifest.shards.length === 0 || manifest.totals.rows === 0) throw new Error(`${manifestPath}: no rows to train on`);
    const readers: ShardReader[] = [];
    let vocab: VocabLayout | null = null;
    try {
      for (const entry of manifest.shards) {
        const reader = await ShardReader.open(join(dir, entry.file));
        readers.push(reader);
        const where = join(dir, entry.file);
        if (reader.meta.stage !== manifest.stage || reader.meta.seqLen !== manifest.seqLen || stageKindOf(reader.meta) !== kind) {
          throw new Error(
            `${where}: shard metadata says stage "${reader.meta.stage}" (${stageKindOf(reader.meta) ?? "kind not recorded"}) seqLen ${reader.meta.seqLen}, manifest says "${manifest.stage}" (${kind ?? "kind not recorded"}) ${manifest.seqLen}`,
          );
        }
        if (reader.numRows !== entry.rows) throw new Error(`${where}: ${reader.numRows} rows, manifest says ${entry.rows}`);
        if (vocab && JSON.stringify(vocab) !== JSON.stringify(reader.meta.vocab))
          throw new Error(`${where}: vocabulary layout differs from the stage's other shards`);
        vocab = reader.meta.vocab;
      }
    } catch (err) {
      await Promise.all(readers.map((r) => r.close()));
      throw err;
    }
    return new StageDataset(dir, manifest, readers, vocab!);
  }

  get numRows(): number {
    return this.manifest.totals.rows;
  }

  get seqLen(): number {
    return this.manifest.seqLen;
  }

  /** The shard holding global row `r` and the row's index inside it. */
  locate(r: number): { shard: number; row: number; sha256: string } {
    if (!Number.isInteger(r) || r < 0 || r >= this.numRows) throw new RangeError(`${this.dir}: row ${r} out of range (0..${this.numRows - 1})`);
    let lo = 0;
    let hi = this.firstRow.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstRow[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    return { shard: lo, row: r - this.firstRow[lo]!, sha256: this.manifest.shards[lo]!.sha256 };
  }

  async row(r: number): Promise<TrainRow> {
    const { shard, row } = this.locate(r);
    const p = await this.readers[shard]!.row(row);
    return { tokens: p.tokens, vision: p.vision, loss: p.loss, cuSeqlens: p.cuSeqlens, weightText: p.weightText, weightVision: p.weightVision };
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}

/** Segments (examples) in a row. */
export function segmentsOf(row: TrainRow): number {
  return row.cuSeqlens.length - 1;
}

/** Non-padding tokens of a row. */
export function realTokensOf(row: TrainRow): number {
  return row.cuSeqlens[row.cuSeqlens.length - 1] ?? 0;
}
