import { afterAll, describe, expect, it } from "vitest";
import type { LlamaConfig } from "./api.js";
import { greedyDecode } from "./decode.js";
import { createEngine } from "./engine.js";
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
  afterAll(async () => { await Promise.all(engines.map((e) => e.close())); });
  it("matches the reference logits of the last position (onnx ring over 2 workers, prompt padded to whole pieces)", async () => {
    const params = randomParams(cfg, 5, 0.3);
    const prompt = Uint32Array.from({ length: 45 }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
    const engine = await createEngine(cfg, { workers: 2, layout: "balanced" });
    engines.push(engine);
    const got = await engine.logitsLast(params, prompt);
    const hidden = referenceHidden(params, cfg, prompt, new Uint8Array(prompt.length));
    const want = linear(hidden.subarray(44 * cfg.dim), 1, cfg.dim, params.get(LM_HEAD)!, cfg.vocabSize);
    expect(got.length).toBe(cfg.vocabSize);
    let diff = 0, scale = 0;
    for (let i = 0; i < want.length; i++) { diff = Math.max(diff, Math.abs(got[i]! - want[i]!)); scale = Math.max(scale, Math.abs(want[i]!)); }
    expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    const ref = await createEngine(cfg, { workers: 1, backend: "reference" });
    const refLogits = await ref.logitsLast(params, prompt);
    for (let i = 0; i < want.length; i++) expect(refLogits[i]).toBeCloseTo(want[i]!, 5);
  });
});
