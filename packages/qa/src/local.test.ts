import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { judgeGeneration } from "./chunk-qa.js";
import type { Sampling } from "@lwm/schemas";
import type { Chunk, QaPair } from "./generator.js";
import { LocalGenerator } from "./local/generator.js";
import { trainTinyQaModel } from "./test-helpers/tiny-qa-model.js";

/**
 * A tiny Llama (Llama-2 vocabulary, d=48, 2 layers) trained here, on the spot, to answer two QA
 * prompts (prompt.ts in LWM's chat template) with their JSON; then the local backend, which runs
 * the checkpoint with the engine's prefill and KV-cache decoding, must write those pairs back.
 */
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
  const generators: LocalGenerator[] = [];
  afterAll(async () => {
    for (const g of generators) await g.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes the QA it was trained to write, grounded and accepted; deterministic for a seed", async () => {
    const tokenizer: Tokenizer = await loadTokenizer();
    dir = await mkdtemp(join(tmpdir(), "lwm-qa-local-"));
    const checkpointDir = join(dir, "checkpoint");
    const trained = await trainTinyQaModel(
      tokenizer,
      TASKS.map(({ chunk, pair }) => ({ chunk, pairs: [pair] })),
      checkpointDir,
    );
    console.log(`tiny QA model: ${trained.steps} steps, loss ${trained.loss.toFixed(4)}, seqLen ${trained.seqLen}`);

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
    // the judge's prompt goes through the same checkpoint; this one never learned it, so what it
    // writes is no verdict: an outcome with the reason, not an exception
    const outcome = await greedy.judge(TASKS[0]!.chunk, TASKS[0]!.pair);
    expect(outcome).toMatchObject({ ok: false, reason: expect.stringMatching(/^judge (?:malformed|length): /) });
    expect(greedy.counters()).toMatchObject({ chunks: 2, judged: 1 });

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
