/**
 * How a row of L tokens is split over P ring workers. The shards stay in natural order; the engine
 * permutes. Zigzag (anchors.md §2b, as in ring-flash-attn and Megatron CP) cuts the row into 2P
 * chunks and gives worker r chunks r and 2P−1−r, so every worker holds the same amount of causal work.
 */
export type Layout = "zigzag" | "contiguous";

export class LayoutError extends Error {}

/** Length of one contiguous piece of a worker's block (the attention chunk must divide it). */
export function pieceLength(L: number, P: number, layout: Layout): number {
  const pieces = layout === "zigzag" ? 2 * P : P;
  if (L % pieces !== 0) {
    throw new LayoutError(`seqLen ${L} is not divisible by ${pieces} (${layout} layout over ${P} ring workers needs seqLen % ${layout === "zigzag" ? "2P" : "P"} = 0)`);
  }
  return L / pieces;
}

/** Global token indices held by each worker, in the worker's local order. */
export function blockIndices(L: number, P: number, layout: Layout): Int32Array[] {
  const c = pieceLength(L, P, layout);
  return Array.from({ length: P }, (_, r) => {
    const starts = layout === "zigzag" ? [r * c, (2 * P - 1 - r) * c] : [r * c];
    const idx = new Int32Array(starts.length * c);
    starts.forEach((s, j) => { for (let t = 0; t < c; t++) idx[j * c + t] = s + t; });
    return idx;
  });
}

/** The attention chunk: `requested` if given (must divide the piece), else the largest divisor of the piece ≤ 512. */
export function attentionChunk(piece: number, requested?: number): number {
  if (requested !== undefined) {
    if (piece % requested !== 0) throw new LayoutError(`attention block ${requested} does not divide the per-worker piece of ${piece} tokens`);
    return requested;
  }
  for (let c = Math.min(512, piece); c >= 1; c--) if (piece % c === 0) return c;
  return 1;
}
