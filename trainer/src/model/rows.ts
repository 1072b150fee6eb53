/**
 * From a packed row to what the model needs per token: segment ids, RoPE positions, and the target
 * and loss weight that each position predicts (the loss flag lives on the target, docs/design.md "The packed row").
 */
import { IGNORE_INDEX, lossWeights, misplacedLoss, nextTokenTargets, positionIds, segmentIds, segmentLayoutProblem } from "@lwm/shards";
import type { LlamaConfig, StageMode, TrainRow } from "./api.js";

export interface PreparedRow {
  seqLen: number;
  tokens: Uint32Array;
  /** 1 = the token is looked up in the vision table. */
  vision: Uint8Array;
  /** 1..K for the segments, K+1 for tail padding (so ids never decrease along the row): @lwm/shards' segmentIds. */
  segId: Int32Array;
  /** RoPE position: restarts at 0 in every segment; padding is 0 (POSITION_RULE). */
  pos: Int32Array;
  /** Target predicted from position p (the token at p+1), or IGNORE_INDEX; one array per head. */
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

/**
 * Checks a row against the shard invariants (the same ones the validator applies) and the model's
 * tables, then lays out what each position predicts: the shared views shifted by one, split by head.
 */
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
  const layoutProblem = segmentLayoutProblem(row.cuSeqlens, L);
  if (layoutProblem) throw new RowError(`${where}: ${layoutProblem}`);
  const K = row.cuSeqlens.length - 1;
  if (row.weightText.length !== K || row.weightVision.length !== K) {
    throw new RowError(`${where}: weightText/weightVision need one entry per segment (${K}), got ${row.weightText.length}/${row.weightVision.length}`);
  }
  const misplaced = misplacedLoss(row);
  if (misplaced) throw new RowError(`${where}: ${misplaced.problem}`);

  const tokens = new Uint32Array(L);
  const vision = new Uint8Array(L);
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

  const coef = mode === "text" ? 1 : 0.5;
  const targets = nextTokenTargets(row);
  const weights = lossWeights(row, { shifted: true });
  const textTarget = new Int32Array(L).fill(IGNORE_INDEX);
  const visionTarget = new Int32Array(L).fill(IGNORE_INDEX);
  const textWeight = new Float32Array(L);
  const visionWeight = new Float32Array(L);
  let textTargets = 0,
    visionTargets = 0;
  for (let p = 0; p + 1 < L; p++) {
    if (targets[p] === IGNORE_INDEX) continue;
    if (vision[p + 1] === 1) {
      if (mode === "text") throw new RowError(`${where}: vision target at token ${p + 1} in a text stage`);
      visionTarget[p] = targets[p]!;
      visionWeight[p] = (coef * weights[p]!) / examples;
      visionTargets++;
    } else {
      textTarget[p] = targets[p]!;
      textWeight[p] = (coef * weights[p]!) / examples;
      textTargets++;
    }
  }
  return {
    seqLen: L,
    tokens,
    vision,
    segId: segmentIds(row),
    pos: positionIds(row),
    textTarget,
    visionTarget,
    textWeight,
    visionWeight,
    coef,
    textTargets,
    visionTargets,
  };
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
