/**
 * How a row of L tokens is split over P ring workers. The shards stay in natural order; the engine
 * permutes. Every worker holds L/P tokens as whole pieces, each contiguous in the row.
 * - contiguous: worker r holds the r-th of P pieces (LWM's layout; causal work grows with r).
 * - zigzag (anchors.md §2b, as in ring-flash-attn and Megatron CP): 2P pieces, worker r holds
 *   pieces r and 2P−1−r, which balances the causal work of ONE document per row.
 * - balanced: 4P pieces dealt out by their actual attention work under the row's segments
 *   (Σ over the piece's queries of their allowed keys), largest first to the least-loaded worker
 *   that still has room. A packed row is many documents, for which zigzag is no longer balanced.
 */
export type Layout = "zigzag" | "contiguous" | "balanced";

export const PIECES_PER_WORKER: Record<Layout, number> = { contiguous: 1, zigzag: 2, balanced: 4 };

export class LayoutError extends Error {}

/** Length of one contiguous piece of a worker's block (the attention chunk must divide it). */
export function pieceLength(L: number, P: number, layout: Layout): number {
  const k = PIECES_PER_WORKER[layout],
    pieces = k * P;
  if (L % pieces !== 0) {
    throw new LayoutError(`seqLen ${L} is not divisible by ${pieces} (${layout} layout over ${P} ring workers needs seqLen % ${k === 1 ? "" : k}P = 0)`);
  }
  return L / pieces;
}

/** Attention work of each piece: Σ over its queries of the keys they may attend (same segment, not later). */
export function pieceWork(segId: Int32Array, piece: number): number[] {
  const work = new Array<number>(segId.length / piece).fill(0);
  let start = 0;
  for (let i = 0; i < segId.length; i++) {
    if (i > 0 && segId[i] !== segId[i - 1]) start = i;
    work[Math.floor(i / piece)]! += i - start + 1;
  }
  return work;
}

/** Pieces per worker for the balanced layout: greedy, largest work first, deterministic ties. */
function balancedPieces(segId: Int32Array, P: number, piece: number): number[][] {
  const k = PIECES_PER_WORKER.balanced;
  const work = pieceWork(segId, piece);
  const order = work.map((w, p) => [w, p] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const load = new Array<number>(P).fill(0);
  const held: number[][] = Array.from({ length: P }, () => []);
  for (const [w, p] of order) {
    let best = -1;
    for (let r = 0; r < P; r++) if (held[r]!.length < k && (best < 0 || load[r]! < load[best]!)) best = r;
    held[best]!.push(p);
    load[best]! += w;
  }
  return held.map((ps) => ps.sort((a, b) => a - b));
}

/** Global token indices held by each worker, in the worker's local order ("balanced" needs the row's segment ids). */
export function blockIndices(L: number, P: number, layout: Layout, segId?: Int32Array): Int32Array[] {
  const c = pieceLength(L, P, layout);
  let balanced: number[][] | undefined;
  if (layout === "balanced") {
    if (!segId || segId.length !== L) throw new LayoutError("the balanced layout needs the row's segment ids");
    balanced = balancedPieces(segId, P, c);
  }
  return Array.from({ length: P }, (_, r) => {
    const starts = balanced ? balanced[r]!.map((p) => p * c) : layout === "zigzag" ? [r * c, (2 * P - 1 - r) * c] : [r * c];
    const idx = new Int32Array(starts.length * c);
    starts.forEach((s, j) => {
      for (let t = 0; t < c; t++) idx[j * c + t] = s + t;
    });
    return idx;
  });
}

/**
 * The attention chunk: `requested` if given (must divide the piece), else the largest divisor of the
 * piece ≤ 256 — [heads, 256, 256] score tiles stay in a 2 MiB L2; measured at 8K (bench/attention.ts,
 * CPU time): 256 and 128 ≈ 37 GFLOP/s, 512 ≈ 27, 64 ≈ 27.
 */
const MAX_DEFAULT_CHUNK = 256;

export function attentionChunk(piece: number, requested?: number): number {
  if (requested !== undefined) {
    if (piece % requested !== 0) throw new LayoutError(`attention block ${requested} does not divide the per-worker piece of ${piece} tokens`);
    return requested;
  }
  for (let c = Math.min(MAX_DEFAULT_CHUNK, piece); c >= 1; c--) if (piece % c === 0) return c;
  return 1;
}
