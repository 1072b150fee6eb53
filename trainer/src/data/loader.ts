import { z } from "zod";
import type { TrainRow } from "../model/api.js";
import { realTokensOf, segmentsOf, type StageDataset } from "./dataset.js";
import { isHeldOut, shuffled } from "./split.js";

/** Everything the loader needs to continue exactly where it stopped (stored in a checkpoint's state.json). */
export const LoaderState = z.object({
  epoch: z.number().int().nonnegative(),
  /** Position in this epoch's permutation of the training rows. */
  cursor: z.number().int().nonnegative(),
  /** Global batches handed out so far in this stage. */
  batches: z.number().int().nonnegative(),
  /** What this stage has consumed, over all ranks: rows, rows×seqLen tokens, non-padding tokens, examples. */
  consumed: z.object({
    rows: z.number().int().nonnegative(),
    tokens: z.number().int().nonnegative(),
    realTokens: z.number().int().nonnegative(),
    examples: z.number().int().nonnegative(),
  }),
});
export type LoaderState = z.infer<typeof LoaderState>;

export interface LoaderOptions {
  seed: number;
  /** Fraction of rows held out (TrainingConfig.evalFraction). */
  evalFraction: number;
  /** Rows per global batch (tokensPerBatch / seqLen). */
  batchRows: number;
  /** Data-parallel rank and world size: rank r takes rows r, r+W, r+2W … of every global batch. */
  rank?: number;
  worldSize?: number;
}

export interface Batch {
  /** This rank's rows of the global batch. */
  rows: TrainRow[];
  /** Examples (segments) in the whole global batch, all ranks: the E of the loss. */
  examples: number;
  /** Global row indices of this rank's rows (for logs and tests). */
  rowIndices: number[];
}

/**
 * Deterministic, resumable batches over a StageDataset: the rows not held out, shuffled per epoch
 * by (seed, epoch); a global batch is the next `batchRows` rows of that order, continuing into the
 * next epoch's order when one runs out. The order is the same for every world size, so changing
 * the number of ranks changes who computes a row, not which rows form a batch.
 */
export class DataLoader {
  readonly trainRows: Int32Array;
  readonly evalRows: Int32Array;
  private order: Int32Array;
  private st: LoaderState;
  private readonly rank: number;
  private readonly worldSize: number;

  constructor(
    readonly dataset: StageDataset,
    readonly options: LoaderOptions,
    state?: LoaderState,
  ) {
    this.rank = options.rank ?? 0;
    this.worldSize = options.worldSize ?? 1;
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1) throw new Error(`loader: worldSize must be a positive integer, got ${this.worldSize}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize)
      throw new Error(`loader: rank ${this.rank} is not in 0..${this.worldSize - 1}`);
    if (options.batchRows % this.worldSize !== 0)
      throw new Error(`loader: ${options.batchRows} rows per batch do not split evenly over ${this.worldSize} ranks`);
    const train: number[] = [];
    const held: number[] = [];
    for (let r = 0; r < dataset.numRows; r++) {
      const { row, sha256 } = dataset.locate(r);
      (isHeldOut(sha256, row, options.evalFraction) ? held : train).push(r);
    }
    if (train.length === 0)
      throw new Error(`${dataset.dir}: all ${dataset.numRows} rows are held out for eval (evalFraction ${options.evalFraction}); nothing to train on`);
    this.trainRows = Int32Array.from(train);
    this.evalRows = Int32Array.from(held);
    this.st = state ? LoaderState.parse(state) : { epoch: 0, cursor: 0, batches: 0, consumed: { rows: 0, tokens: 0, realTokens: 0, examples: 0 } };
    if (this.st.cursor > this.trainRows.length)
      throw new Error(`loader state: cursor ${this.st.cursor} is past the ${this.trainRows.length} training rows (was the data changed?)`);
    this.order = shuffled(this.trainRows, options.seed, this.st.epoch);
  }

  state(): LoaderState {
    return structuredClone(this.st);
  }

  /** The next global batch's row indices, advancing the position (and the epoch when one is used up). */
  private nextIndices(): number[] {
    const out: number[] = [];
    while (out.length < this.options.batchRows) {
      if (this.st.cursor === this.order.length) {
        this.st.epoch += 1;
        this.st.cursor = 0;
        this.order = shuffled(this.trainRows, this.options.seed, this.st.epoch);
      }
      out.push(this.order[this.st.cursor]!);
      this.st.cursor += 1;
    }
    return out;
  }

  async next(): Promise<Batch> {
    const global = this.nextIndices();
    const rows: TrainRow[] = [];
    const rowIndices: number[] = [];
    let examples = 0;
    let realTokens = 0;
    for (let i = 0; i < global.length; i++) {
      // Every rank reads every row's boundaries to know E (a single-host stand-in for an all-reduce
      // of segment counts); only its own rows are kept.
      const row = await this.dataset.row(global[i]!);
      examples += segmentsOf(row);
      realTokens += realTokensOf(row);
      if (i % this.worldSize === this.rank) {
        rows.push(row);
        rowIndices.push(global[i]!);
      }
    }
    this.st.batches += 1;
    this.st.consumed.rows += global.length;
    this.st.consumed.tokens += global.length * this.dataset.seqLen;
    this.st.consumed.realTokens += realTokens;
    this.st.consumed.examples += examples;
    return { rows, examples, rowIndices };
  }
}
