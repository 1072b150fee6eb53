/** Synthetic packed rows and parameters for tests (several segments, mixed modalities, tail padding). */
import type { LlamaConfig, Params, TrainRow } from "../api.js";
import { paramShapes } from "../params.js";
import { normalSampler, uniformSampler } from "../rng.js";

/** Parameters with a larger spread than the 0.02 init so that every op is visibly non-linear. */
export function randomParams(cfg: LlamaConfig, seed: number, std = 0.3): Params {
  const normal = normalSampler(seed);
  const p: Params = new Map();
  for (const [name, shape] of paramShapes(cfg)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = shape.length === 1 ? 1 + 0.2 * normal() : std * normal();
    p.set(name, a);
  }
  return p;
}

/**
 * A row of `seqLen` tokens: segments of the given lengths, then padding. Loss on every token but a
 * segment's first; vision tokens (when `visionEvery` > 0) every so often inside segments.
 */
export function makeRow(cfg: LlamaConfig, seqLen: number, segLens: number[], seed: number, visionEvery = 0): TrainRow {
  const u = uniformSampler(seed);
  const used = segLens.reduce((a, b) => a + b, 0);
  if (used > seqLen) throw new Error("segments longer than the row");
  const tokens = new Uint32Array(seqLen),
    vision = new Uint8Array(seqLen),
    loss = new Uint8Array(seqLen);
  const cu = new Int32Array(segLens.length + 1);
  const wt = new Float32Array(segLens.length),
    wv = new Float32Array(segLens.length);
  let at = 0;
  segLens.forEach((len, s) => {
    cu[s] = at;
    let nt = 0,
      nv = 0;
    for (let i = 0; i < len; i++) {
      const isV = visionEvery > 0 && i > 0 && i % visionEvery === 0;
      vision[at + i] = isV ? 1 : 0;
      tokens[at + i] = Math.floor(u() * (isV ? cfg.visionVocabSize : cfg.vocabSize));
      if (i > 0) {
        loss[at + i] = 1;
        if (isV) nv++;
        else nt++;
      }
    }
    wt[s] = nt > 0 ? 1 / nt : 0;
    wv[s] = nv > 0 ? 1 / nv : 0;
    at += len;
  });
  cu[segLens.length] = at;
  return { tokens, vision, loss, cuSeqlens: cu, weightText: wt, weightVision: wv };
}
