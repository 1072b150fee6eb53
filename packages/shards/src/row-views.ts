/**
 * What a packed row means, defined once: the invariants every row keeps and the per-token views a
 * trainer derives from it, each O(seqLen). assembleRow (which builds rows), the validator (which
 * checks shards) and the trainer's prepareRow (which feeds the model) all go through these, so they
 * cannot disagree on a convention. Conventions (schemas/FORMAT.md, "Training views"): segments are
 * numbered 1..nseg and the padded tail is segment nseg+1, so segment ids never decrease along a row;
 * positions restart at 0 in each segment and are 0 on padding; IGNORE_INDEX marks "no target".
 */
import type { PackedRow } from "./row.js";

/** Label value for "no target", as PyTorch's cross_entropy and Hugging Face expect. */
export const IGNORE_INDEX = -100;

type RowShape = Pick<PackedRow, "tokens" | "cuSeqlens">;
type RowWithLoss = Pick<PackedRow, "tokens" | "cuSeqlens" | "loss">;

/**
 * Why `cu` is not the segment layout of a row of `seqLen` tokens (at least one segment, starting at
 * 0, strictly increasing, ending at or before seqLen), or undefined when it is.
 */
export function segmentLayoutProblem(cu: Int32Array, seqLen: number): string | undefined {
  const nseg = cu.length - 1;
  if (nseg < 1) return `cu_seqlens has ${cu.length} entries; a row needs at least one segment`;
  if (cu[0] !== 0) return `cu_seqlens starts at ${cu[0]}, not 0`;
  for (let s = 0; s < nseg; s++) {
    if (cu[s + 1]! <= cu[s]!) return `cu_seqlens[${s + 1}]=${cu[s + 1]} does not exceed cu_seqlens[${s}]=${cu[s]}`;
  }
  if (cu[nseg]! > seqLen) return `cu_seqlens ends at ${cu[nseg]}, past seqLen ${seqLen}`;
  return undefined;
}

/**
 * The first loss flag that has no target to score (on a segment's first token, whose predecessor is
 * another segment, or on the padded tail), or undefined. Needs a valid segment layout.
 */
export function misplacedLoss(row: RowWithLoss): { token: number; problem: string } | undefined {
  const cu = row.cuSeqlens;
  const nseg = cu.length - 1;
  for (let s = 0; s < nseg; s++) {
    const start = cu[s]!;
    if (row.loss[start]) return { token: start, problem: `token ${start} starts segment ${s} but carries loss (targets never cross a boundary)` };
  }
  for (let i = cu[nseg]!; i < row.tokens.length; i++) {
    if (row.loss[i]) return { token: i, problem: `padding token ${i} carries loss` };
  }
  return undefined;
}

/** Per-segment weight of a modality: 1/(loss tokens of it), stored as float32; 0 when it has none. */
export function segmentWeight(lossTokens: number): number {
  return lossTokens === 0 ? 0 : Math.fround(1 / lossTokens);
}

/** True when a stored weight is the segment weight for `lossTokens` (within float32 rounding; other writers may round differently). */
export function weightMatches(stored: number, lossTokens: number): boolean {
  if (lossTokens === 0) return stored === 0;
  const expected = 1 / lossTokens;
  return Math.abs(stored - expected) <= 1e-6 * expected;
}

/** Segment number of each token: 1..nseg, nseg+1 on the padded tail. */
export function segmentIds(row: RowShape): Int32Array {
  const out = new Int32Array(row.tokens.length);
  const cu = row.cuSeqlens;
  const nseg = cu.length - 1;
  for (let s = 0; s < nseg; s++) out.fill(s + 1, cu[s]!, cu[s + 1]!);
  out.fill(nseg + 1, cu[nseg]!);
  return out;
}

/** Position of each token inside its segment (0 at every segment start); 0 on the padded tail. */
export function positionIds(row: RowShape): Int32Array {
  const out = new Int32Array(row.tokens.length);
  const cu = row.cuSeqlens;
  for (let s = 0; s + 1 < cu.length; s++) {
    const start = cu[s]!;
    for (let i = start; i < cu[s + 1]!; i++) out[i] = i - start;
  }
  return out;
}

/**
 * Hugging Face-aligned labels: labels[i] = tokens[i] where token i is a loss target, else
 * IGNORE_INDEX. As in transformers' causal-LM loss, the model's logits at i-1 are scored against
 * labels[i] (the shift happens in the loss). A segment's first token never has a label, so no
 * target crosses a boundary. The id is in the table vision[i] names.
 */
export function labels(row: RowWithLoss): Int32Array {
  const n = row.tokens.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = row.loss[i] ? row.tokens[i]! : IGNORE_INDEX;
  return out;
}

/**
 * Pre-shifted targets for losses that do not shift: targets[i] is what the logits at position i
 * must predict, i.e. labels[i+1]; IGNORE_INDEX at the last token.
 */
export function nextTokenTargets(row: RowWithLoss): Int32Array {
  const n = row.tokens.length;
  const out = new Int32Array(n);
  for (let i = 0; i + 1 < n; i++) out[i] = row.loss[i + 1] ? row.tokens[i + 1]! : IGNORE_INDEX;
  out[n - 1] = IGNORE_INDEX;
  return out;
}

/**
 * Per-token loss weight aligned with labels(): w[i] = weightVision[seg] if token i is a vision loss
 * target, weightText[seg] if a text one, else 0. Summing w·nll over a batch and dividing by the
 * number of segments in the global batch gives LWM's per-example-normalised loss (one term per modality).
 * With { shifted: true } it is aligned with nextTokenTargets() instead (w[i] belongs to token i+1).
 */
export function lossWeights(
  row: Pick<PackedRow, "tokens" | "cuSeqlens" | "loss" | "vision" | "weightText" | "weightVision">,
  options: { shifted?: boolean } = {},
): Float32Array {
  const n = row.tokens.length;
  const out = new Float32Array(n);
  const shift = options.shifted ? 1 : 0;
  const cu = row.cuSeqlens;
  for (let s = 0; s + 1 < cu.length; s++) {
    const wt = row.weightText[s]!;
    const wv = row.weightVision[s]!;
    for (let i = cu[s]!; i < cu[s + 1]!; i++) {
      if (row.loss[i]) out[i - shift] = row.vision[i] ? wv : wt;
    }
  }
  return out;
}

/**
 * Segment boundaries in FlashAttention varlen form (cu_seqlens, int32, starting at 0). With
 * { includePadding: true } a non-empty padded tail is added as one more sequence so that the last
 * entry is seqLen, as kernels that need the offsets to cover the whole buffer want.
 */
export function cuSeqlens(row: RowShape, options: { includePadding?: boolean } = {}): Int32Array {
  const cu = row.cuSeqlens;
  const end = cu[cu.length - 1]!;
  if (!options.includePadding || end === row.tokens.length) return Int32Array.from(cu);
  const out = new Int32Array(cu.length + 1);
  out.set(cu);
  out[cu.length] = row.tokens.length;
  return out;
}
