import { describe, expect, it } from "vitest";
import type { LlamaConfig } from "./api.js";
import { EMBED, VISION_EMBED, VISION_HEAD, addVisionParams, checkParams, initParams, paramShapes } from "./params.js";
import { referenceForwardBackward } from "./reference.js";
import { prepareRow } from "./rows.js";
import { makeRow } from "./test-helpers/rows.js";

const text: LlamaConfig = { vocabSize: 30, visionVocabSize: 0, dim: 16, layers: 2, heads: 2, ffnDim: 24, normEps: 1e-6, ropeTheta: 1e6 };
const vl: LlamaConfig = { ...text, visionVocabSize: 12 };

describe("parameters", () => {
  it("uses Hugging Face Llama names and [out, in] shapes", () => {
    const s = paramShapes(text);
    expect(s.get("model.embed_tokens.weight")).toEqual([30, 16]);
    expect(s.get("model.layers.1.mlp.gate_proj.weight")).toEqual([24, 16]);
    expect(s.get("model.layers.1.mlp.down_proj.weight")).toEqual([16, 24]);
    expect(s.get("lm_head.weight")).toEqual([30, 16]);
    expect(s.has(VISION_EMBED)).toBe(false);
    expect(paramShapes(vl).get(VISION_HEAD)).toEqual([12, 16]);
    expect(s.size).toBe(3 + 9 * 2);
  });

  it("initialisation is a pure function of the seed", () => {
    const a = initParams(text, 5),
      b = initParams(text, 5),
      c = initParams(text, 6);
    expect(a.get(EMBED)).toEqual(b.get(EMBED));
    expect(a.get(EMBED)).not.toEqual(c.get(EMBED));
    expect(a.get("model.norm.weight")!.every((x) => x === 1)).toBe(true);
  });

  it("text → vision-language hand-over: finite, uniform first vision predictions (vision loss = ln |vision vocab|)", () => {
    const params = addVisionParams(initParams(text, 1), vl, 2);
    checkParams(params, vl);
    const row = makeRow(vl, 24, [11, 13], 3, 3);
    const r = referenceForwardBackward(params, vl, [prepareRow(row, vl, "vision-language", 2)], "vision-language", true);
    // zero head → every vision target has nll = ln 12; Σ over a segment of w·nll = ln 12, two segments, E = 2
    expect(r.visionLoss).toBeCloseTo(Math.log(12), 6); // weights are fp32 1/n
    expect(Number.isFinite(r.loss)).toBe(true);
    // the head learns from step one; the trunk gets no vision gradient through a zero head, but the text loss still trains it
    expect(r.grads!.get(VISION_HEAD)!.some((g) => g !== 0)).toBe(true);
    expect(r.grads!.get(VISION_EMBED)!.some((g) => g !== 0)).toBe(true);
  });

  it("checkParams names the missing or mis-sized tensor", () => {
    const p = initParams(text, 1);
    p.set("model.layers.0.self_attn.q_proj.weight", new Float32Array(3));
    expect(() => checkParams(p, text)).toThrow(/q_proj.weight has 3 values/);
    p.set("model.layers.0.self_attn.q_proj.weight", new Float32Array(256));
    p.delete("lm_head.weight");
    expect(() => checkParams(p, text)).toThrow(/missing lm_head.weight/);
  });
});
