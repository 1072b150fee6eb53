/**
 * QA generator benchmarks (numbers in docs/benchmarks.md, section "qa"):
 *
 * 1. The openai backend against a loopback chat-completions server with a fixed latency (200 ms):
 *    N requests at concurrency 1, 8 and 32 (N = waves × concurrency). The peer is the ideal time
 *    N·latency/concurrency of a perfect sliding window; we report achieved/ideal throughput. The
 *    server runs in a child process (as a model server would); `--server inline` puts it in this
 *    process, where its CPU work competes with the client's event loop.
 * 2. The local backend's decoding speed: a random-weight Llama (default: the sample recipe's shape), a prompt of
 *    P tokens, T new tokens: prefill (onnxruntime ring) + KV-cache decoding, against decoding that
 *    recomputes the whole prefix for every new token (no cache).
 *
 *   npm run bench -w @lwm/qa [-- --latency 200 --waves 20 --levels 1,8,32 --prompt 128 --new 16 --dim 64 --layers 2 --skip openai|local --server process|inline]
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { createEngine, decodeFrom, greedyDecode, initParams, type LlamaConfig } from "@lwm/trainer";
import { OpenAIGenerator } from "../src/openai/generator.js";
import { argmax } from "../src/local/sampler.js";
import { ChatServer, chatGeneratorOptions, pairsReply } from "../src/test-helpers/chat-server.js";

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
    server: { type: "string", default: "process" },
  },
});
const latency = Number(values.latency);
const waves = Number(values.waves);
const skip = new Set(values.skip.split(","));

/** The loopback server under the client: its URL, and its request count and CPU time since the last call. */
interface BenchServer {
  url: string;
  /** Requests received, CPU time (null when it is this process's), and the most requests in progress at once. */
  stats(): Promise<{ requests: number; cpuMs: number | null; maxInFlight: number; connections: number }>;
  close(): Promise<void>;
}

/** The server in this process: its CPU time is the client's too, and its work delays the client's event loop. */
async function inlineServer(latencyMs: number): Promise<BenchServer> {
  const server = await ChatServer.start(async (r) => {
    await sleep(latencyMs);
    return pairsReply([{ question: "Which number is it?", answer: "7", evidence: r.passage }]);
  });
  let seen = 0;
  let connections = 0;
  return {
    url: server.url,
    stats: async () => {
      const requests = server.requests.length - seen;
      seen = server.requests.length;
      const { maxInFlight } = server;
      server.maxInFlight = 0;
      const opened = server.connections - connections;
      connections = server.connections;
      return { requests, cpuMs: null, maxInFlight, connections: opened };
    },
    close: () => server.close(),
  };
}

/** The server in a child process (bench/latency-server.ts), as a real model server would be. */
async function processServer(latencyMs: number): Promise<BenchServer> {
  const here = dirname(fileURLToPath(import.meta.url));
  const viteNode = createRequire(import.meta.url).resolve("vite-node/vite-node.mjs");
  const child = spawn(process.execPath, [viteNode, join(here, "latency-server.ts"), "--", String(latencyMs)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) throw new Error("the latency server exited");
    return JSON.parse(line.value) as unknown;
  };
  const { url } = (await next()) as { url: string };
  return {
    url,
    stats: async () => {
      child.stdin?.write("stats\n");
      return (await next()) as { requests: number; cpuMs: number; maxInFlight: number; connections: number };
    },
    close: async () => {
      child.stdin?.end();
      await new Promise((resolve) => child.on("exit", resolve));
    },
  };
}

if (!skip.has("openai")) {
  const where = values.server === "inline" ? "in this process" : "in a child process";
  console.log(
    `openai backend, loopback server (${where}) with a fixed ${latency} ms latency, ${waves} full waves per level; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
  );
  console.log("concurrency  requests  time (s)  ideal (s)  requests/s  achieved/ideal  client CPU ms/request  server CPU ms/request  new connections");
  // The machine's own floor: `waves` timers of `latency` in a row, no HTTP at all. On a loaded box a
  // sleeping process wakes late; no client can beat this ratio at any concurrency.
  const s0 = performance.now();
  for (let i = 0; i < waves; i++) await sleep(latency);
  const floor = (waves * latency) / (performance.now() - s0);
  console.log(`floor: ${waves} bare ${latency} ms timers in a row reach ${floor.toFixed(3)} of ideal on this machine now`);
  const server = values.server === "inline" ? await inlineServer(latency) : await processServer(latency);
  try {
    for (const c of values.levels.split(",").map(Number)) {
      const n = waves * c;
      const generator = new OpenAIGenerator(
        chatGeneratorOptions(server.url, { model: "bench", concurrency: c, timeoutMs: 60_000, maxRetries: 0, sampling: { mode: "greedy", maxNewTokens: 64 } }),
      );
      const chunks = Array.from({ length: n }, (_, i) => ({ id: `c${c}-${i}`, text: `Passage ${c}-${i} says the number is 7.` }));
      // warm-up (JIT, keep-alive connections), not timed
      await Promise.all(Array.from({ length: 2 * c }, (_, i) => generator.generate({ id: `w${i}`, text: `Warm-up ${c}-${i} says 7.` }, 1)));
      await server.stats();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const results = await Promise.all(chunks.map((chunk) => generator.generate(chunk, 1)));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const served = await server.stats();
      await generator.close();
      if (results.some((r) => !r.ok)) throw new Error("a request failed");
      if (served.requests !== n) throw new Error(`the server saw ${served.requests} requests, expected ${n}`);
      // The window must have been full: exactly `concurrency` requests at the server at once.
      if (served.maxInFlight !== c) throw new Error(`at most ${served.maxInFlight} requests were in progress at the server, the window is ${c}`);
      const ideal = (n * latency) / 1000 / c;
      const serverCpu = served.cpuMs === null ? "(in client)" : (served.cpuMs / n).toFixed(2);
      console.log(
        `${String(c).padStart(11)}  ${String(n).padStart(8)}  ${seconds.toFixed(2).padStart(8)}  ${ideal.toFixed(2).padStart(9)}  ${(n / seconds).toFixed(1).padStart(10)}  ${(ideal / seconds).toFixed(3).padStart(14)}  ${((cpu.user + cpu.system) / 1000 / n).toFixed(2).padStart(21)}  ${serverCpu.padStart(21)}  ${String(served.connections).padStart(15)}`,
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
