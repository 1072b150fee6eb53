import { afterAll, describe, expect, it } from "vitest";
import type { Engine, LlamaConfig, Params, StageMode } from "./api.js";
import { createEngine } from "./engine.js";
import { paramShapes } from "./params.js";
import { referenceForwardBackward } from "./reference.js";
import { prepareRow } from "./rows.js";
import { makeRow, randomParams } from "./test-helpers/rows.js";

const cfg: LlamaConfig = { vocabSize: 50, visionVocabSize: 20, dim: 32, layers: 2, heads: 4, ffnDim: 48, normEps: 1e-6, ropeTheta: 10000 };
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function expectGradsClose(got: Params, want: Map<string, Float64Array>, rel: number) {
  for (const [name] of paramShapes(cfg)) {
    const g = got.get(name)!,
      w = want.get(name)!;
    expect(g.length, name).toBe(w.length);
    expect(maxDiff(g, w), name).toBeLessThanOrEqual(rel * Math.max(1e-3, maxAbs(w)));
  }
}

describe("engine input checks", () => {
  it("rejects rows the layout cannot split and rows that break the loss rule, naming the row and field", async () => {
    const engine = await createEngine(cfg, { workers: 4, layout: "zigzag" });
    engines.push(engine);
    const params = randomParams(cfg, 1);
    await expect(engine.forward(params, [makeRow(cfg, 36, [36], 1)], 1, "text")).rejects.toThrow(/seqLen 36 is not divisible by 8/);
    const bad = makeRow(cfg, 32, [10, 22], 1);
    bad.loss[10] = 1; // first token of segment 1
    await expect(engine.forward(params, [makeRow(cfg, 32, [32], 2), bad], 1, "text")).rejects.toThrow(/row 1: token 10 starts segment 1/);
    const vis = makeRow(cfg, 32, [32], 3, 4);
    await expect(engine.forwardBackward(params, [makeRow(cfg, 32, [32], 2), vis], 1, "text")).rejects.toThrow(/vision target at token 4 in a text stage/);
    // the rejected calls left nothing behind, and equal calls give bit-identical gradients
    const good = [makeRow(cfg, 32, [12, 20], 4), makeRow(cfg, 32, [32], 5)];
    const first = await engine.forwardBackward(params, good, 3, "text");
    const second = await engine.forwardBackward(params, good, 3, "text");
    expect(second.loss).toBe(first.loss);
    for (const [name, g] of first.grads) expect(second.grads.get(name), name).toEqual(g);
    await expect(
      createEngine(cfg, { workers: 2, attnBlock: 5 }).then((e) => {
        engines.push(e);
        return e.forward(params, [makeRow(cfg, 32, [32], 2)], 1, "text");
      }),
    ).rejects.toThrow(/does not divide/);
  });
});

describe("onnxruntime ring engine against the float64 reference", () => {
  const cases: { P: number; layout: "zigzag" | "contiguous" | "balanced"; attnBlock: number; mode: StageMode }[] = [
    { P: 1, layout: "zigzag", attnBlock: 8, mode: "text" },
    { P: 2, layout: "zigzag", attnBlock: 4, mode: "vision-language" },
    { P: 2, layout: "contiguous", attnBlock: 16, mode: "text" },
    { P: 4, layout: "zigzag", attnBlock: 2, mode: "vision-language" },
    { P: 2, layout: "balanced", attnBlock: 4, mode: "vision-language" },
  ];
  for (const { P, layout, attnBlock, mode } of cases) {
    it(`loss and every parameter gradient match (P=${P}, ${layout}, block ${attnBlock}, ${mode})`, async () => {
      const engine = await createEngine(cfg, { workers: P, layout, attnBlock, headChunk: 5 });
      engines.push(engine);
      const params = randomParams(cfg, 7, 0.15);
      const vis = mode === "text" ? 0 : 3;
      const rows = [makeRow(cfg, 32, [7, 10, 9], 11, vis), makeRow(cfg, 32, [32], 12, vis)];
      const E = 4;
      const got = await engine.forwardBackward(params, rows, E, mode);
      const want = referenceForwardBackward(
        params,
        cfg,
        rows.map((r, i) => prepareRow(r, cfg, mode, E, i)),
        mode,
        true,
      );
      expect(got.loss).toBeCloseTo(want.loss, 5);
      expect(Math.abs(got.textLoss - want.textLoss)).toBeLessThan(1e-5 * Math.max(1, want.textLoss));
      expect(Math.abs(got.visionLoss - want.visionLoss)).toBeLessThan(1e-5 * Math.max(1, want.visionLoss));
      expect(got.textCorrect).toBe(want.textCorrect);
      expect(got.visionCorrect).toBe(want.visionCorrect);
      expect(got.textTargets).toBe(want.textTargets);
      expectGradsClose(got.grads, want.grads!, 2e-5);
      const fwd = await engine.forward(params, rows, E, mode);
      expect(fwd.loss).toBe(got.loss);
    });
  }
});
