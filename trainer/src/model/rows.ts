/**
 * From a packed row to what the model needs per token: segment ids, RoPE positions, and the target
 * and loss weight that each position predicts (the loss flag lives on the target, DESIGN.md).
 */
import type { LlamaConfig, StageMode, TrainRow } from "./api.js";

export interface PreparedRow {
  seqLen: number;
  tokens: Uint32Array;
  /** 1 = the token is looked up in the vision table. */
  vision: Uint8Array;
  /** 1..K for the segments, K+1 for tail padding (so ids never decrease along the row). */
  segId: Int32Array;
  /** RoPE position: restarts at 0 in every segment; padding is 0 (POSITION_RULE). */
  pos: Int32Array;
  /** Target predicted from position p (the token at p+1), or −1; one array per head. */
  textTarget: Int32Array;
  visionTarget: Int32Array;
  /** Weight of that target's nll in the *stage* loss: coef·w(seg)/E (coef 1 for text stages, 0.5 for vision-language). */
  textWeight: Float32Array;
  visionWeight: Float32Array;
  /** coef, so that reported textLoss = Σ weight·nll / coef. */
  coef: number;
  textTargets: number;
  visionTargets: number;
}

export class RowError extends Error {}

export function prepareRow(row: TrainRow, cfg: LlamaConfig, mode: StageMode, examples: number, rowIndex = 0): PreparedRow {
  const where = `row ${rowIndex}`;
  const L = row.tokens.length;
  if (L < 2) throw new RowError(`${where}: tokens has ${L} entries; a row needs at least 2`);
  for (const [field, a] of [
    ["vision", row.vision],
    ["loss", row.loss],
  ] as const) {
    if (a.length !== L) throw new RowError(`${where}: ${field} has ${a.length} entries, tokens has ${L}`);
  }
  if (!(examples > 0)) throw new RowError(`examplesInGlobalBatch must be > 0 (got ${examples})`);
  const cu = row.cuSeqlens;
  const K = cu.length - 1;
  if (K < 0 || cu[0] !== 0) throw new RowError(`${where}: cuSeqlens must start with 0`);
  for (let s = 0; s < K; s++) {
    if (cu[s + 1]! <= cu[s]!) throw new RowError(`${where}: cuSeqlens must increase strictly (cuSeqlens[${s + 1}] = ${cu[s + 1]})`);
  }
  if (cu[K]! > L) throw new RowError(`${where}: cuSeqlens ends at ${cu[K]}, past seqLen ${L}`);
  if (row.weightText.length !== K || row.weightVision.length !== K) {
    throw new RowError(`${where}: weightText/weightVision need one entry per segment (${K}), got ${row.weightText.length}/${row.weightVision.length}`);
  }
  const coef = mode === "text" ? 1 : 0.5;
  const tokens = new Uint32Array(L);
  const segId = new Int32Array(L);
  const pos = new Int32Array(L);
  const vision = new Uint8Array(L);
  for (let s = 0; s < K; s++) {
    for (let i = cu[s]!; i < cu[s + 1]!; i++) {
      segId[i] = s + 1;
      pos[i] = i - cu[s]!;
    }
  }
  for (let i = cu[K]!; i < L; i++) {
    segId[i] = K + 1;
    pos[i] = 0;
  }
  for (let i = 0; i < L; i++) {
    const t = row.tokens[i]!;
    const isVision = row.vision[i] === 1;
    if (row.vision[i]! > 1 || row.loss[i]! > 1) throw new RowError(`${where}: vision/loss flags must be 0 or 1 (token ${i})`);
    if (isVision) {
      if (cfg.visionVocabSize === 0) throw new RowError(`${where}: token ${i} is a vision token but the model is text-only`);
      if (t >= cfg.visionVocabSize) throw new RowError(`${where}: vision token ${i} = ${t} ≥ visionVocabSize ${cfg.visionVocabSize}`);
    } else if (t >= cfg.vocabSize) throw new RowError(`${where}: text token ${i} = ${t} ≥ vocabSize ${cfg.vocabSize}`);
    tokens[i] = t;
    vision[i] = isVision ? 1 : 0;
  }
  const textTarget = new Int32Array(L).fill(-1);
  const visionTarget = new Int32Array(L).fill(-1);
  const textWeight = new Float32Array(L);
  const visionWeight = new Float32Array(L);
  let textTargets = 0,
    visionTargets = 0;
  if (row.loss[0] === 1) throw new RowError(`${where}: token 0 carries loss but nothing precedes it`);
  for (let i = 1; i < L; i++) {
    if (row.loss[i] !== 1) continue;
    const s = segId[i]!;
    if (s > K) throw new RowError(`${where}: padding token ${i} carries loss`);
    if (segId[i - 1] !== s) throw new RowError(`${where}: token ${i} starts segment ${s - 1} but carries loss (targets never cross a boundary)`);
    if (vision[i] === 1) {
      if (mode === "text") throw new RowError(`${where}: vision target at token ${i} in a text stage`);
      visionTarget[i - 1] = tokens[i]!;
      visionWeight[i - 1] = (coef * row.weightVision[s - 1]!) / examples;
      visionTargets++;
    } else {
      textTarget[i - 1] = tokens[i]!;
      textWeight[i - 1] = (coef * row.weightText[s - 1]!) / examples;
      textTargets++;
    }
  }
  return { seqLen: L, tokens, vision, segId, pos, textTarget, visionTarget, textWeight, visionWeight, coef, textTargets, visionTargets };
}

/** Attention is allowed from query i to key j iff same segment and j ≤ i (padding is its own segment). */
export function allowed(segId: Int32Array, i: number, j: number): boolean {
  return j <= i && segId[i] === segId[j];
}

/** Number of allowed (query, key) pairs of a row, per head and layer (model-FLOP accounting). */
export function unmaskedPairs(segId: Int32Array): number {
  let n = 0,
    start = 0;
  for (let i = 1; i <= segId.length; i++) {
    if (i === segId.length || segId[i] !== segId[start]) {
      const len = i - start;
      n += (len * (len + 1)) / 2;
      start = i;
    }
  }
  return n;
}

/** RoPE tables in the HF half-split layout: cos/sin [n, headDim], angle = pos·θ^(−2i/headDim), i < headDim/2, repeated for both halves. */
export function ropeTables(pos: Int32Array, headDim: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const n = pos.length;
  const cos = new Float64Array(n * headDim),
    sin = new Float64Array(n * headDim);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(theta, (-2 * i) / headDim);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < half; i++) {
      const a = pos[t]! * invFreq[i]!;
      const c = Math.cos(a),
        s = Math.sin(a);
      cos[t * headDim + i] = c;
      cos[t * headDim + i + half] = c;
      sin[t * headDim + i] = s;
      sin[t * headDim + i + half] = s;
    }
  }
  return { cos, sin };
}
