import { describe, expect, it } from "vitest";
import { AdamW, clipGlobalNorm, decays, globalNorm } from "./adamw.js";

const config = { betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.1 };

describe("AdamW", () => {
  it("matches two steps computed by hand, with decoupled decay on matrices and none on norms", () => {
    const params = new Map([
      ["model.layers.0.mlp.up_proj.weight", new Float32Array([1, -2])],
      ["model.norm.weight", new Float32Array([1])],
    ]);
    const opt = new AdamW(config);
    // Step 1, g = (0.5, −0.1), lr 0.1: m = (0.05, −0.01), v = (0.0125, 0.0005); bias-corrected
    // m̂/√v̂ = (0.5/0.5, −0.1/0.1) ≈ (1, −1); p = 1 − 0.1·(1 + 0.1·1) = 0.89, −2 − 0.1·(−1 − 0.2) = −1.88.
    // The norm gain (g = 0.3) gets the same ≈1 step without decay: 1 − 0.1 = 0.9.
    opt.update(
      params,
      new Map([
        ["model.layers.0.mlp.up_proj.weight", new Float32Array([0.5, -0.1])],
        ["model.norm.weight", new Float32Array([0.3])],
      ]),
      0.1,
    );
    expect(params.get("model.layers.0.mlp.up_proj.weight")![0]).toBeCloseTo(0.89, 6);
    expect(params.get("model.layers.0.mlp.up_proj.weight")![1]).toBeCloseTo(-1.88, 6);
    expect(params.get("model.norm.weight")![0]).toBeCloseTo(0.9, 6);
    // Step 2, g = (−0.3, 0.2): m₀ = 0.9·0.05 − 0.03 = 0.015, v₀ = 0.95·0.0125 + 0.05·0.09 = 0.016375;
    // m̂ = 0.015/0.19 = 0.078947, v̂ = 0.016375/0.0975 = 0.167949, m̂/√v̂ = 0.192640;
    // p₀ = 0.89 − 0.1·(0.192640 + 0.1·0.89) = 0.861836. Likewise p₁ = −1.897537.
    opt.update(
      params,
      new Map([
        ["model.layers.0.mlp.up_proj.weight", new Float32Array([-0.3, 0.2])],
        ["model.norm.weight", new Float32Array([0.3])],
      ]),
      0.1,
    );
    expect(params.get("model.layers.0.mlp.up_proj.weight")![0]).toBeCloseTo(0.861836, 5);
    expect(params.get("model.layers.0.mlp.up_proj.weight")![1]).toBeCloseTo(-1.897537, 5);
    expect(params.get("model.norm.weight")![0]).toBeCloseTo(0.8, 6);
    expect(opt.step).toBe(2);
  });

  it("exports and imports its state so that a restored optimizer continues identically", () => {
    const mk = () => new Map([["w", new Float32Array([0.3, -0.7, 1.1])]]);
    const grads = [new Float32Array([0.1, 0.2, -0.3]), new Float32Array([-0.5, 0.05, 0.4]), new Float32Array([0.2, -0.2, 0.2])];
    const a = mk();
    const optA = new AdamW(config);
    for (const g of grads) optA.update(a, new Map([["w", g]]), 0.01);

    const b = mk();
    const optB = new AdamW(config);
    optB.update(b, new Map([["w", grads[0]!]]), 0.01);
    const saved = optB.exportState();
    const copy = new Map([...saved.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]));
    const optC = new AdamW(config);
    optC.importState(saved.step, copy, b);
    for (const g of grads.slice(1)) optC.update(b, new Map([["w", g]]), 0.01);
    expect([...b.get("w")!]).toEqual([...a.get("w")!]);
  });

  it("refuses optimizer state that does not fit the parameters", () => {
    const opt = new AdamW(config);
    const params = new Map([["w", new Float32Array(3)]]);
    expect(() => opt.importState(1, new Map([["m/w", { shape: [2], data: new Float32Array(2) }]]), params)).toThrow(/"m\/w" has 2 values, parameter has 3/);
    expect(() => opt.importState(1, new Map([["m/x", { shape: [3], data: new Float32Array(3) }]]), params)).toThrow(/unexpected tensor "m\/x"/);
  });

  it("decays matrices and embeddings but not norm gains", () => {
    expect(decays("model.embed_tokens.weight")).toBe(true);
    expect(decays("lm_head.weight")).toBe(true);
    expect(decays("model.layers.3.input_layernorm.weight")).toBe(false);
    expect(decays("model.layers.3.post_attention_layernorm.weight")).toBe(false);
    expect(decays("model.norm.weight")).toBe(false);
  });
});

describe("global-norm clipping", () => {
  it("scales gradients whose global norm exceeds the limit and reports the norm before clipping", () => {
    const grads = new Map([
      ["a", new Float32Array([3])],
      ["b", new Float32Array([0, 4])],
    ]);
    expect(clipGlobalNorm(grads, 1)).toBeCloseTo(5, 12);
    expect([...grads.get("a")!]).toEqual([Math.fround(0.6)]);
    expect([...grads.get("b")!]).toEqual([0, Math.fround(0.8)]);
    expect(globalNorm(grads)).toBeCloseTo(1, 6);
  });

  it("leaves gradients under the limit untouched", () => {
    const grads = new Map([["a", new Float32Array([0.3, 0.4])]]);
    expect(clipGlobalNorm(grads, 1)).toBeCloseTo(0.5, 7);
    expect([...grads.get("a")!]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
