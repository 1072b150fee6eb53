import { afterAll, describe, expect, it } from "vitest";
import type { LlamaConfig } from "./api.js";
import { greedyDecode, greedyDecodeFrom, referencePrefill } from "./decode.js";
import { createEngine, promptPadding } from "./engine.js";
import { linear, referenceHidden } from "./reference.js";
import { LM_HEAD } from "./params.js";
import { randomParams } from "./test-helpers/rows.js";

const cfg: LlamaConfig = { vocabSize: 40, visionVocabSize: 0, dim: 32, layers: 2, heads: 4, ffnDim: 48, normEps: 1e-6, ropeTheta: 10000 };

describe("greedy decoding", () => {
  it("with a KV cache gives the same tokens as recomputing the whole prefix", () => {
    const params = randomParams(cfg, 3, 0.4);
    const prompt = Uint32Array.from([1, 7, 22, 5, 13]);
    const cached = greedyDecode(params, cfg, prompt, 24, { kvCache: true });
    const full = greedyDecode(params, cfg, prompt, 24, { kvCache: false });
    expect(cached.length).toBe(24);
    expect(Array.from(cached)).toEqual(Array.from(full));
    // not a degenerate constant output
    expect(new Set(cached).size).toBeGreaterThan(2);
  });

  it("stops after the end-of-sequence id", () => {
    const params = randomParams(cfg, 3, 0.4);
    const prompt = Uint32Array.from([1, 7, 22, 5, 13]);
    const free = greedyDecode(params, cfg, prompt, 24, { kvCache: true });
    const eos = free[5]!;
    const stopped = greedyDecode(params, cfg, prompt, 24, { kvCache: true, eosId: eos });
    expect(stopped[stopped.length - 1]).toBe(eos);
    expect(stopped.length).toBe(free.indexOf(eos) + 1);
  });
});

describe("engine.logitsLast", () => {
  const engines: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
  });
  it("matches the reference logits of the last position (onnx ring over 2 workers, prompt padded to whole pieces)", async () => {
    const params = randomParams(cfg, 5, 0.3);
    const prompt = Uint32Array.from({ length: 45 }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
    const engine = await createEngine(cfg, { workers: 2, layout: "balanced" });
    engines.push(engine);
    const got = await engine.logitsLast(params, prompt);
    const hidden = referenceHidden(params, cfg, prompt, new Uint8Array(prompt.length));
    const want = linear(hidden.subarray(44 * cfg.dim), 1, cfg.dim, params.get(LM_HEAD)!, cfg.vocabSize);
    expect(got.length).toBe(cfg.vocabSize);
    let diff = 0,
      scale = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    const ref = await createEngine(cfg, { workers: 1, backend: "reference" });
    const refLogits = await ref.logitsLast(params, prompt);
    for (let i = 0; i < want.length; i++) expect(refLogits[i]).toBeCloseTo(want[i]!, 5);
  });
});

describe("engine.prefill (the prompt through the onnx ring, then the KV cache)", () => {
  const engines: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
  });
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

  for (const P of [1, 2]) {
    it(`P=${P}: keys, values and last logits equal the reference's; decoding from it gives the tokens of full recomputation`, async () => {
      const params = randomParams(cfg, 5, 0.4);
      const prompt = Uint32Array.from({ length: 77 }, (_, i) => (i * 11 + 5) % cfg.vocabSize);
      const engine = await createEngine(cfg, { workers: P });
      engines.push(engine);
      const got = await engine.prefill(params, prompt);
      const want = referencePrefill(params, cfg, prompt);
      expect(got.k.length).toBe(cfg.layers);
      for (let li = 0; li < cfg.layers; li++) {
        expect(got.k[li]!.length).toBe(prompt.length * cfg.dim);
        expect(maxDiff(got.k[li]!, want.k[li]!)).toBeLessThan(1e-4);
        expect(maxDiff(got.v[li]!, want.v[li]!)).toBeLessThan(1e-4);
      }
      expect(maxDiff(got.logits, want.logits)).toBeLessThan(1e-4);
      const fromRing = greedyDecodeFrom(params, cfg, got, 20, {});
      const full = greedyDecode(params, cfg, prompt, 20, { kvCache: false });
      expect(Array.from(fromRing)).toEqual(Array.from(full));
      expect(new Set(fromRing).size).toBeGreaterThan(2);
    });
  }

  it("pads a prompt to whole attention chunks, never to tiny ones", () => {
    expect(promptPadding(45, 8)).toEqual({ C: 8, L: 64 });
    expect(promptPadding(8000, 8)).toEqual({ C: 256, L: 8192 });
    // 8·263 tokens per piece would make C = 8 if the chunk had to divide the piece exactly
    const { C, L } = promptPadding(4 * 8 * 263, 4);
    expect(C).toBeGreaterThanOrEqual(128);
    expect(L).toBeLessThanOrEqual(4 * 8 * 263 * (17 / 16));
  });
});
