import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { AdamW, createEngine, initParams, saveCheckpoint, toHfConfig, type Engine, type LlamaConfig, type TrainRow } from "@lwm/trainer";
import { judgeGeneration } from "./chunk-qa.js";
import type { Sampling } from "@lwm/schemas";
import type { Chunk, QaPair } from "./generator.js";
import { LocalGenerator, localPromptIds } from "./local/generator.js";

/**
 * A tiny Llama (Llama-2 vocabulary, d=48, 2 layers) trained here, on the spot, to answer two QA
 * prompts (prompt.ts in LWM's chat template) with their JSON; then the local backend, which runs
 * the checkpoint with the engine's prefill and KV-cache decoding, must write those pairs back.
 */
const cfg: LlamaConfig = { vocabSize: 32000, visionVocabSize: 0, dim: 48, layers: 2, heads: 2, ffnDim: 96, normEps: 1e-6, ropeTheta: 10000 };

const TASKS: { chunk: Chunk; pair: QaPair }[] = [
  {
    chunk: { id: "chunk-ahab", text: "Captain Ahab lost his leg off the coast of Japan." },
    pair: { question: "Where did Ahab lose his leg?", answer: "off the coast of Japan", evidence: "Captain Ahab lost his leg off the coast of Japan." },
  },
  {
    chunk: { id: "chunk-stubb", text: "Stubb smoked a short black pipe every hour." },
    pair: { question: "What did Stubb smoke?", answer: "a short black pipe", evidence: "Stubb smoked a short black pipe every hour." },
  },
];

describe("local generator (a checkpoint trained in the test, engine prefill + KV-cache decoding)", () => {
  let dir = "";
  let engine: Engine | undefined;
  const generators: LocalGenerator[] = [];
  afterAll(async () => {
    await engine?.close();
    for (const g of generators) await g.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes the QA it was trained to write, grounded and accepted; deterministic for a seed", async () => {
    const tokenizer: Tokenizer = await loadTokenizer();
    const rows: TrainRow[] = [];
    let seqLen = 0;
    const sequences: { tokens: Uint32Array; promptLength: number }[] = [];
    for (const { chunk, pair } of TASKS) {
      const prompt = await localPromptIds(tokenizer, chunk, 1);
      const reply = await tokenizer.encode(JSON.stringify({ pairs: [pair] }));
      const tokens = new Uint32Array(prompt.length + reply.length + 1);
      tokens.set(prompt);
      tokens.set(reply, prompt.length);
      tokens[tokens.length - 1] = tokenizer.eosId;
      sequences.push({ tokens, promptLength: prompt.length });
      seqLen = Math.max(seqLen, tokens.length);
    }
    seqLen = Math.ceil(seqLen / 4) * 4;
    for (const { tokens, promptLength } of sequences) {
      const row = new Uint32Array(seqLen);
      row.set(tokens);
      const loss = new Uint8Array(seqLen);
      loss.fill(1, promptLength, tokens.length);
      rows.push({
        tokens: row,
        vision: new Uint8Array(seqLen),
        loss,
        cuSeqlens: Int32Array.of(0, tokens.length),
        weightText: Float32Array.of(1 / (tokens.length - promptLength)),
        weightVision: new Float32Array(1),
      });
    }
    engine = await createEngine(cfg, { workers: 1 });
    const params = initParams(cfg, 7);
    const adam = new AdamW({ betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0 });
    let loss = Infinity;
    for (let step = 0; step < 400 && loss > 0.03; step++) {
      const r = await engine.forwardBackward(params, rows, rows.length, "text");
      loss = r.loss;
      adam.update(params, r.grads, 1e-2);
    }
    console.log(`tiny QA model: ${adam.step} steps, loss ${loss.toFixed(4)}, seqLen ${seqLen}`);
    dir = await mkdtemp(join(tmpdir(), "lwm-qa-local-"));
    const checkpointDir = join(dir, "checkpoint");
    await saveCheckpoint(checkpointDir, { params, cfg, config: toHfConfig(cfg, seqLen, { bosId: 1, eosId: 2, padId: 0 }), state: {} });

    const open = async (sampling: Sampling) => {
      const g = await LocalGenerator.open({ checkpointDir, checkpointLabel: "checkpoint", tokenizer, sampling, workers: 1 });
      generators.push(g);
      return g;
    };
    const greedy = await open({ mode: "greedy", maxNewTokens: 96 });
    for (const { chunk, pair } of TASKS) {
      const generation = await greedy.generate(chunk, 1);
      const judged = judgeGeneration(greedy.identity, chunk, 1, generation, new Map());
      expect(judged.rejected).toEqual([]);
      expect(judged.accepted.map(({ question, answer, evidence }) => ({ question, answer, evidence }))).toEqual([pair]);
      expect(judged.accepted[0]!.generator).toEqual({
        kind: "local",
        model: "checkpoint",
        baseUrl: null,
        promptVersion: "lwm-qa-prompt/1",
        sampling: { mode: "greedy", maxNewTokens: 96 },
      });
    }
    expect(greedy.counters()).toMatchObject({ chunks: 2 });

    // top-p at a high temperature: the same seed gives the same text, another seed (almost surely) another
    // (the draws are seeded per chunk, so the order chunks run in does not matter either)
    const sampler = async (seed: number) => {
      const g = await open({ mode: "top-p", temperature: 2, topP: 1, seed, maxNewTokens: 24 });
      return async (tasks: typeof TASKS) => {
        const out: string[] = [];
        for (const { chunk } of tasks) out.push(JSON.stringify(await g.generate(chunk, 1)));
        return out;
      };
    };
    const seed1 = await sampler(1);
    const a = await seed1(TASKS);
    expect((await seed1([...TASKS].reverse())).reverse()).toEqual(a);
    expect(await (await sampler(2))(TASKS)).not.toEqual(a);
    // a reply cut by maxNewTokens is rejected as such
    expect(a[0]).toMatch(/"ok":false,"reason":"length: /);
  }, 240_000);
});
