import { afterAll, describe, expect, it } from "vitest";
import type { Engine, LlamaConfig, Params, TrainRow } from "./api.js";
import { createEngine } from "./engine.js";
import { blockIndices } from "../ring/layout.js";
import { initParams } from "./params.js";
import { uniformSampler } from "./rng.js";

/**
 * Copy task across the ring: each segment is [BOS, x1..x15, x1..x15]; loss only on the second copy.
 * Rows of 64 tokens hold two segments; with zigzag over 2 workers (chunks of 16), every answer sits
 * in the other worker's block than the token it copies, so it can only be learned through K/V that
 * travelled around the ring.
 */
const cfg: LlamaConfig = { vocabSize: 20, visionVocabSize: 0, dim: 32, layers: 2, heads: 2, ffnDim: 64, normEps: 1e-6, ropeTheta: 10000 };
const HALF = 15,
  SEG = 1 + 2 * HALF,
  L = 64;

function copyRow(u: () => number): TrainRow {
  const tokens = new Uint32Array(L),
    loss = new Uint8Array(L);
  for (let s = 0; s < 2; s++) {
    const at = s * SEG;
    tokens[at] = 1;
    for (let i = 1; i <= HALF; i++) {
      const x = 3 + Math.floor(u() * 16);
      tokens[at + i] = x;
      tokens[at + HALF + i] = x;
      loss[at + HALF + i] = 1;
    }
  }
  return {
    tokens,
    vision: new Uint8Array(L),
    loss,
    cuSeqlens: Int32Array.from([0, SEG, 2 * SEG]),
    weightText: Float32Array.from([1 / HALF, 1 / HALF]),
    weightVision: new Float32Array(2),
  };
}

function adam(params: Params, lr: number) {
  const m = new Map<string, Float32Array>(),
    v = new Map<string, Float32Array>();
  let t = 0;
  return (grads: Params) => {
    t++;
    for (const [name, p] of params) {
      const g = grads.get(name)!;
      const mm = m.get(name) ?? new Float32Array(p.length),
        vv = v.get(name) ?? new Float32Array(p.length);
      m.set(name, mm);
      v.set(name, vv);
      for (let i = 0; i < p.length; i++) {
        mm[i] = 0.9 * mm[i]! + 0.1 * g[i]!;
        vv[i] = 0.999 * vv[i]! + 0.001 * g[i]! * g[i]!;
        p[i]! -= (lr * (mm[i]! / (1 - 0.9 ** t))) / (Math.sqrt(vv[i]! / (1 - 0.999 ** t)) + 1e-8);
      }
    }
  };
}

describe("learning across the ring", () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.close();
  });

  it("learns a copy task whose answers lie in the other worker's block (held-out accuracy ≫ chance)", async () => {
    // the layout really puts sources and answers on different workers
    const [w0, w1] = blockIndices(L, 2, "zigzag");
    const owner = (t: number) => (w0!.includes(t) ? 0 : w1!.includes(t) ? 1 : -1);
    let crossing = 0;
    for (let s = 0; s < 2; s++) for (let i = 1; i <= HALF; i++) if (owner(s * SEG + i) !== owner(s * SEG + HALF + i - 1)) crossing++;
    expect(crossing).toBeGreaterThanOrEqual(25);

    engine = await createEngine(cfg, { workers: 2, layout: "zigzag" });
    const params = initParams(cfg, 1);
    const step = adam(params, 1e-2);
    const train = uniformSampler(100),
      held = uniformSampler(999);
    const heldOut = Array.from({ length: 8 }, () => copyRow(held));
    const before = await engine.forward(params, heldOut, 16, "text");
    for (let it = 0; it < 250; it++) {
      const rows = [copyRow(train), copyRow(train)];
      const r = await engine.forwardBackward(params, rows, 4, "text");
      step(r.grads);
    }
    const after = await engine.forward(params, heldOut, 16, "text");
    const acc = after.textCorrect / after.textTargets;
    console.log(
      `copy task: held-out accuracy ${(100 * acc).toFixed(1)}% (before ${((100 * before.textCorrect) / before.textTargets).toFixed(1)}%), loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}`,
    );
    expect(before.textCorrect / before.textTargets).toBeLessThan(0.2);
    expect(acc).toBeGreaterThan(0.9); // chance is 1/16
    expect(after.loss).toBeLessThan(before.loss / 2);
  }, 60_000);
});
