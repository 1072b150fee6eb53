import { tokenDtypeFor, type ExampleRecord, type Provenance, type TaskKind, type VocabLayout } from "@lwm/schemas";
import { misplacedLoss, segmentWeight } from "./row-views.js";

/**
 * One packed sequence of exactly seqLen tokens: segments (one per example) back to back from
 * token 0, then tail padding. Flags are one byte (0|1) per token here; on disk they are bits.
 */
export interface PackedRow {
  tokens: Uint16Array | Uint32Array;
  /** 1 where the token indexes the vision table. */
  vision: Uint8Array;
  /** 1 where the token is a loss target (predicted from earlier tokens of its segment). */
  loss: Uint8Array;
  /** nseg+1 offsets, cuSeqlens[0] = 0, last = number of non-padding tokens. */
  cuSeqlens: Int32Array;
  /** Per segment: 1 / (its loss tokens with vision 0), 0 when none. */
  weightText: Float32Array;
  /** Per segment: 1 / (its loss tokens with vision 1), 0 when none. */
  weightVision: Float32Array;
  exampleIds: string[];
  provenance: Provenance[];
  /** Per segment: the example's task; null for a row read from a shard before format 3, which records none. */
  tasks: TaskKind[] | null;
}

/** What a trainer consumes of a packed row: everything but the segments' ids, provenance and tasks. */
export type TrainRow = Omit<PackedRow, "exampleIds" | "provenance" | "tasks">;

/**
 * Concatenates `examples` (in the given order) into one row of `seqLen` tokens, pads the tail with
 * `layout.padId` (vision 0, loss 0) and computes each segment's text and vision loss weights.
 * Which examples share a row is the packer's decision; this only lays them out.
 */
export function assembleRow(seqLen: number, layout: VocabLayout, examples: readonly ExampleRecord[]): PackedRow {
  if (examples.length === 0) throw new Error("assembleRow: a row needs at least one example");
  const nseg = examples.length;
  const cuSeqlens = new Int32Array(nseg + 1);
  for (let s = 0; s < nseg; s++) {
    const e = examples[s]!;
    const n = e.tokens.length;
    if (n === 0) throw new Error(`assembleRow: example ${e.exampleId} has no tokens`);
    if (e.vision.length !== n || e.loss.length !== n) {
      throw new Error(`assembleRow: example ${e.exampleId} has tokens ${n}, vision ${e.vision.length}, loss ${e.loss.length}`);
    }
    cuSeqlens[s + 1] = cuSeqlens[s]! + n;
  }
  const used = cuSeqlens[nseg]!;
  if (used > seqLen) throw new Error(`assembleRow: ${nseg} examples hold ${used} tokens, more than seqLen ${seqLen}`);

  const tokens = tokenDtypeFor(layout) === "uint16" ? new Uint16Array(seqLen) : new Uint32Array(seqLen);
  const vision = new Uint8Array(seqLen);
  const loss = new Uint8Array(seqLen);
  const weightText = new Float32Array(nseg);
  const weightVision = new Float32Array(nseg);
  for (let s = 0; s < nseg; s++) {
    const e = examples[s]!;
    const start = cuSeqlens[s]!;
    const n = e.tokens.length;
    let textLoss = 0;
    let visionLoss = 0;
    for (let i = 0; i < n; i++) {
      const id = e.tokens[i]!;
      const v = e.vision[i] ? 1 : 0;
      const l = e.loss[i] ? 1 : 0;
      const limit = v ? layout.visionVocabSize : layout.textVocabSize;
      if (id >= limit) {
        throw new Error(`assembleRow: example ${e.exampleId} token ${i} id ${id} is outside the ${v ? "vision" : "text"} table (${limit})`);
      }
      tokens[start + i] = id;
      vision[start + i] = v;
      loss[start + i] = l;
      if (l) {
        if (v) visionLoss++;
        else textLoss++;
      }
    }
    weightText[s] = segmentWeight(textLoss);
    weightVision[s] = segmentWeight(visionLoss);
  }
  if (layout.padId !== 0) tokens.fill(layout.padId, used);
  const row = { tokens, vision, loss, cuSeqlens, weightText, weightVision };
  const misplaced = misplacedLoss(row);
  if (misplaced) {
    const s = cuSeqlens.findLastIndex((start) => start <= misplaced.token);
    throw new Error(`assembleRow: example ${examples[s]!.exampleId} has loss on its first token`);
  }
  return {
    ...row,
    exampleIds: examples.map((e) => e.exampleId),
    provenance: examples.map((e) => e.provenance),
    tasks: examples.map((e) => e.task),
  };
}
