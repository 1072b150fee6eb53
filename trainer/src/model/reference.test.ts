import { describe, expect, it } from "vitest";
import type { LlamaConfig, StageMode } from "./api.js";
import { paramShapes } from "./params.js";
import { referenceForwardBackward } from "./reference.js";
import { prepareRow } from "./rows.js";
import { makeRow, randomParams } from "./test-helpers/rows.js";

const cfg: LlamaConfig = { vocabSize: 11, visionVocabSize: 7, dim: 8, layers: 2, heads: 2, ffnDim: 12, normEps: 1e-6, ropeTheta: 10000 };

describe("float64 reference model", () => {
  for (const mode of ["text", "vision-language"] as StageMode[]) {
    it(`gradients match central finite differences for every parameter entry (${mode})`, () => {
      const params = randomParams(cfg, 1);
      const rows = [
        prepareRow(makeRow(cfg, 12, [5, 4], 2, mode === "text" ? 0 : 2), cfg, mode, 3),
        prepareRow(makeRow(cfg, 12, [3, 9], 3, mode === "text" ? 0 : 3), cfg, mode, 3),
      ];
      const base = referenceForwardBackward(params, cfg, rows, mode, true);
      expect(Number.isFinite(base.loss)).toBe(true);
      let checked = 0;
      for (const [name] of paramShapes(cfg)) {
        const p = params.get(name)!,
          g = base.grads!.get(name)!;
        for (let i = 0; i < p.length; i++) {
          const orig = p[i]!;
          p[i] = Math.fround(orig + 1e-4);
          const hi = p[i]! - orig;
          const lp = referenceForwardBackward(params, cfg, rows, mode, false).loss;
          p[i] = Math.fround(orig - 1e-4);
          const lo = orig - p[i]!;
          const lm = referenceForwardBackward(params, cfg, rows, mode, false).loss;
          p[i] = orig;
          const fd = (lp - lm) / (hi + lo);
          expect(Math.abs(fd - g[i]!), `${name}[${i}] fd ${fd} vs ${g[i]}`).toBeLessThan(1e-7 + 1e-5 * Math.abs(fd));
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }

  it("reports losses with the packed-shard weighting and accuracy counts", () => {
    const params = randomParams(cfg, 4);
    const row = makeRow(cfg, 16, [6, 7], 5, 3);
    const vl = referenceForwardBackward(params, cfg, [prepareRow(row, cfg, "vision-language", 2)], "vision-language", false);
    expect(vl.loss).toBeCloseTo(0.5 * (vl.textLoss + vl.visionLoss), 12);
    expect(vl.textTargets + vl.visionTargets).toBe(5 + 6);
    // E scales every term by 1/E.
    const vl4 = referenceForwardBackward(params, cfg, [prepareRow(row, cfg, "vision-language", 4)], "vision-language", false);
    expect(vl4.textLoss * 2).toBeCloseTo(vl.textLoss, 10);
    expect(vl4.visionLoss * 2).toBeCloseTo(vl.visionLoss, 10);
  });
});
