/**
 * QA generator benchmarks (numbers in docs/benchmarks.md, section "qa"):
 *
 * 1. The openai backend against a loopback chat-completions server with a fixed latency (200 ms):
 *    N requests at concurrency 1, 8 and 32 (N = waves × concurrency). The peer is the ideal time
 *    N·latency/concurrency of a perfect sliding window; we report achieved/ideal throughput.
 * 2. The local backend's decoding speed: a random-weight Llama (default: the sample recipe's shape), a prompt of
 *    P tokens, T new tokens: prefill (onnxruntime ring) + KV-cache decoding, against decoding that
 *    recomputes the whole prefix for every new token (no cache).
 *
 *   npm run bench -w @lwm/qa [-- --latency 200 --waves 20 --levels 1,8,32 --prompt 128 --new 16 --dim 64 --layers 2 --skip openai|local]
 */
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { createEngine, decodeFrom, greedyDecode, initParams, type LlamaConfig } from "@lwm/trainer";
import { OpenAIGenerator } from "../src/openai/generator.js";
import { argmax } from "../src/local/sampler.js";
import { ChatServer, pairsReply } from "../src/test-helpers/chat-server.js";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "200" },
    waves: { type: "string", default: "20" },
    levels: { type: "string", default: "1,8,32" },
    prompt: { type: "string", default: "128" },
    new: { type: "string", default: "16" },
    dim: { type: "string", default: "64" },
    layers: { type: "string", default: "2" },
    skip: { type: "string", default: "" },
  },
});
const latency = Number(values.latency);
const waves = Number(values.waves);
const skip = new Set(values.skip.split(","));

if (!skip.has("openai")) {
  console.log(`openai backend, loopback server with a fixed ${latency} ms latency, ${waves} full waves per level`);
  console.log("concurrency  requests  time (s)  ideal (s)  requests/s  achieved/ideal  CPU ms/request (client + server)");
  const server = await ChatServer.start(async (r) => {
    await sleep(latency);
    return pairsReply([{ question: "Which number is it?", answer: "7", evidence: r.passage }]);
  });
  try {
    for (const c of values.levels.split(",").map(Number)) {
      const n = waves * c;
      const generator = new OpenAIGenerator({
        baseUrl: server.url,
        model: "bench",
        apiKey: undefined,
        concurrency: c,
        timeoutMs: 60_000,
        maxRetries: 0,
        backoff: { baseMs: 100, maxMs: 1000 },
        maxRetryAfterMs: 1000,
        breakerFailures: 10,
        sampling: { mode: "greedy", maxNewTokens: 64 },
        jsonMode: true,
        cacheDir: null,
      });
      const chunks = Array.from({ length: n }, (_, i) => ({ id: `c${c}-${i}`, text: `Passage ${c}-${i} says the number is 7.` }));
      // warm-up (JIT, keep-alive connections), not timed
      await Promise.all(Array.from({ length: 2 * c }, (_, i) => generator.generate({ id: `w${i}`, text: `Warm-up ${c}-${i} says 7.` }, 1)));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const results = await Promise.all(chunks.map((chunk) => generator.generate(chunk, 1)));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      await generator.close();
      if (results.some((r) => !r.ok)) throw new Error("a request failed");
      const ideal = (n * latency) / 1000 / c;
      console.log(
        `${String(c).padStart(11)}  ${String(n).padStart(8)}  ${seconds.toFixed(2).padStart(8)}  ${ideal.toFixed(2).padStart(9)}  ${(n / seconds).toFixed(1).padStart(10)}  ${(ideal / seconds).toFixed(3).padStart(14)}  ${((cpu.user + cpu.system) / 1000 / n).toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    await server.close();
  }
}

if (!skip.has("local")) {
  const cfg: LlamaConfig = {
    vocabSize: 32000,
    visionVocabSize: 0,
    dim: Number(values.dim),
    layers: Number(values.layers),
    heads: 4,
    ffnDim: Number(values.dim) * 3,
    normEps: 1e-6,
    ropeTheta: 10000,
  };
  const params = initParams(cfg, 1);
  const promptLength = Number(values.prompt);
  const newTokens = Number(values.new);
  const prompt = Uint32Array.from({ length: promptLength }, (_, i) => (i === 0 ? 1 : 100 + ((i * 7919) % 30000)));
  console.log(`\nlocal backend: d=${cfg.dim}, ${cfg.layers} layers, vocab ${cfg.vocabSize}, prompt ${promptLength} tokens, ${newTokens} new tokens (greedy)`);
  const engine = await createEngine(cfg, { workers: 1 });
  try {
    await engine.prefill(params, prompt); // warm-up: graphs and sessions
    const t0 = performance.now();
    const prefill = await engine.prefill(params, prompt);
    const t1 = performance.now();
    const cached = decodeFrom(params, cfg, prefill, newTokens, { next: argmax });
    const t2 = performance.now();
    const recomputed = greedyDecode(params, cfg, prompt, newTokens, { kvCache: false });
    const t3 = performance.now();
    if (cached.length !== newTokens || recomputed.length !== newTokens) throw new Error("decoding stopped early");
    const same = cached.every((id, i) => id === recomputed[i]);
    console.log(`prefill (onnx ring, 1 worker): ${(t1 - t0).toFixed(0)} ms, ${((promptLength / (t1 - t0)) * 1000).toFixed(0)} prompt tokens/s`);
    console.log(`decode with KV cache:          ${(t2 - t1).toFixed(0)} ms, ${((newTokens / (t2 - t1)) * 1000).toFixed(1)} tokens/s`);
    console.log(`decode recomputing the prefix: ${(t3 - t2).toFixed(0)} ms, ${((newTokens / (t3 - t2)) * 1000).toFixed(1)} tokens/s (no cache)`);
    console.log(`KV cache speed-up: ${((t3 - t2) / (t2 - t1)).toFixed(1)}×; same tokens: ${same}`);
  } finally {
    await engine.close();
  }
}
