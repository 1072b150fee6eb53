/**
 * Training-step benchmark of the onnxruntime RingAttention engine (small Llama, full 32000 vocabulary).
 *   npm run bench -w @lwm/trainer                          — builds, then runs every case, each in a fresh process
 *   node trainer/bench/dist/bench/train-step.js --case ID  — one case, prints one JSON line
 *   node trainer/bench/dist/bench/train-step.js --scaling N — N interleaved rounds of the 8K ring-scaling cases
 * Prints model GFLOP/s, ring-wait share, attention pairs computed/skipped and memory per case.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createEngine, initParams, type LlamaConfig, type TrainRow } from "../src/model/index.js";
import { type Layout, blockIndices, pieceWork } from "../src/ring/layout.js";
import { prepareRow } from "../src/model/rows.js";
import { trainStepFlops } from "../src/train/flops.js";

export const BENCH_MODEL: LlamaConfig = { vocabSize: 32000, visionVocabSize: 0, dim: 256, layers: 4, heads: 4, ffnDim: 688, normEps: 1e-6, ropeTheta: 1e6 };

interface Case {
  id: string;
  seqLen: number;
  workers: number;
  threads: number;
  layout: Layout;
  steps: number;
  attnBlock?: number;
  headChunk?: number;
}
const CASES: Case[] = [
  { id: "2k-p1-t1", seqLen: 2048, workers: 1, threads: 1, layout: "zigzag", steps: 3 },
  { id: "2k-p1-t2", seqLen: 2048, workers: 1, threads: 2, layout: "zigzag", steps: 3 },
  { id: "2k-p2-zigzag", seqLen: 2048, workers: 2, threads: 1, layout: "zigzag", steps: 3 },
  { id: "2k-p2-balanced", seqLen: 2048, workers: 2, threads: 1, layout: "balanced", steps: 3 },
  { id: "8k-p1-t1", seqLen: 8192, workers: 1, threads: 1, layout: "zigzag", steps: 2 },
  { id: "8k-p1-t2", seqLen: 8192, workers: 1, threads: 2, layout: "zigzag", steps: 2 },
  { id: "8k-p2-zigzag", seqLen: 8192, workers: 2, threads: 1, layout: "zigzag", steps: 2 },
  { id: "8k-p2-contiguous", seqLen: 8192, workers: 2, threads: 1, layout: "contiguous", steps: 2 },
  { id: "8k-p2-balanced", seqLen: 8192, workers: 2, threads: 1, layout: "balanced", steps: 2 },
];

/**
 * A packed row as a best-fit packer leaves it: documents of L/8..L/2 tokens (deterministic), the last
 * one cut to fill the row up to L/128 tokens of tail padding; loss on all but each first token.
 */
export function benchRow(L: number, seed: number): TrainRow {
  let s = seed >>> 0;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const lens: number[] = [];
  const fill = L - L / 128;
  let used = 0;
  while (used < fill) {
    const len = Math.min(Math.floor(L / 8 + rnd() * (L / 2 - L / 8)), fill - used);
    lens.push(len);
    used += len;
  }
  const tokens = new Uint32Array(L),
    loss = new Uint8Array(L);
  const cu = new Int32Array(lens.length + 1);
  lens.forEach((len, i) => {
    cu[i + 1] = cu[i]! + len;
    for (let t = cu[i]!; t < cu[i + 1]!; t++) {
      tokens[t] = t === cu[i] ? 1 : 3 + Math.floor(rnd() * 31990);
      loss[t] = t === cu[i] ? 0 : 1;
    }
  });
  return {
    tokens,
    vision: new Uint8Array(L),
    loss,
    cuSeqlens: cu,
    weightText: Float32Array.from(lens, (n) => 1 / (n - 1)),
    weightVision: new Float32Array(lens.length),
  };
}

/** The ring workers run the package build (trainer/dist/ring/worker.js). */
const WORKER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../dist/ring");

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function runCase(c: Case) {
  const cfg = BENCH_MODEL;
  const engine = await createEngine(cfg, {
    workers: c.workers,
    layout: c.layout,
    intraOpThreads: c.threads,
    workerDir: WORKER_DIR,
    attnBlock: c.attnBlock,
    headChunk: c.headChunk,
  });
  const params = initParams(cfg, 0);
  const row = benchRow(c.seqLen, 7);
  const E = row.cuSeqlens.length - 1; // examples in the (one-row) batch
  await engine.forwardBackward(params, [row], E, "text"); // warm-up: sessions, arenas
  const walls: number[] = [],
    waits: number[] = [],
    cpus: number[] = [];
  let last;
  for (let i = 0; i < c.steps; i++) {
    const cpu0 = process.cpuUsage();
    last = await engine.forwardBackward(params, [row], E, "text");
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
    walls.push(last.stats.wallMs);
    waits.push(Math.max(...last.stats.ringWaitMs) / last.stats.wallMs);
  }
  await engine.close();
  const st = last!.stats;
  const flops = trainStepFlops(cfg, c.seqLen, st.unmaskedPairs);
  const n = c.seqLen / c.workers,
    d = cfg.dim;
  // Saved per layer for backward on each worker: x, q, k, v, o (n·d each) and lse (n·heads), fp32.
  // Causal+segment attention work per worker (allowed query·key pairs, millions): the balance the layout achieves.
  const perToken = pieceWork(prepareRow(row, cfg, "text", E).segId, 1);
  const attnWork = blockIndices(c.seqLen, c.workers, c.layout, prepareRow(row, cfg, "text", E).segId).map(
    (idx) => +(idx.reduce((s, t) => s + perToken[t]!, 0) / 1e6).toFixed(2),
  );
  const attnSavedMiB = (cfg.layers * (5 * n * d + n * cfg.heads) * 4) / 2 ** 20;
  return {
    case: c.id,
    seqLen: c.seqLen,
    workers: c.workers,
    threadsPerWorker: c.threads,
    layout: c.layout,
    stepMs: Math.round(median(walls)),
    gflops: +(flops / 1e9).toFixed(1),
    gflopPerS: +(flops / 1e6 / median(walls)).toFixed(1),
    ringWaitShare: +median(waits).toFixed(3),
    // CPU time of all threads of the process: less sensitive than wall time to other jobs on the machine.
    cpuMs: Math.round(median(cpus)),
    gflopPerCpuS: +(flops / 1e6 / median(cpus)).toFixed(1),
    computeMs: st.computeMs.map(Math.round),
    ringWaitMs: st.ringWaitMs.map(Math.round),
    attnWorkM: attnWork,
    graphMs: st.graphMs,
    attnPairsComputed: st.attnPairsComputed,
    attnPairsSkipped: st.attnPairsSkipped,
    loss: +last!.loss.toFixed(4),
    attnSavedMiBPerWorker: +attnSavedMiB.toFixed(1),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** One case in a fresh process (onnxruntime arenas and V8 heaps do not carry over between cases). */
function runInChild(id: string) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--case", id], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop()!) as {
    case: string;
    stepMs: number;
    gflopPerS: number;
    cpuMs: number;
    gflopPerCpuS: number;
    ringWaitShare: number;
    attnWorkM: number[];
    attnPairsComputed: number;
    attnPairsSkipped: number;
    gflops: number;
    attnSavedMiBPerWorker: number;
    peakRssMiB: number;
  };
}

/**
 * Ring scaling at 8K, P = 1 → P = 2, in interleaved rounds (the machine drifts between rounds): P = 2
 * against one worker with the same 2-thread budget as intra-op threads, and against one worker with
 * one thread. The bound is what a perfect ring (P = 2 at exactly half the 1-thread step) would reach
 * against the 2-thread worker.
 */
function scaling(rounds: number): void {
  console.log(
    "| round | P=1, 2 intra-op threads (ms) | P=2 balanced (ms) | P=1, 1 thread (ms) | P=2 vs 2-thread P=1 | P=2 vs 1-thread P=1 | bound 2·t2/t1 |\n|---|---|---|---|---|---|---|",
  );
  for (let r = 1; r <= rounds; r++) {
    const t2 = runInChild("8k-p1-t2").stepMs,
      p2 = runInChild("8k-p2-balanced").stepMs,
      t1 = runInChild("8k-p1-t1").stepMs;
    console.log(`| ${r} | ${t2} | ${p2} | ${t1} | ${(t2 / p2).toFixed(2)}× | ${(t1 / p2).toFixed(2)}× | ${((2 * t2) / t1).toFixed(2)} |`);
  }
}

const { values } = parseArgs({
  options: { case: { type: "string" }, only: { type: "string" }, block: { type: "string" }, "head-chunk": { type: "string" }, scaling: { type: "string" } },
});
if (values.scaling) {
  scaling(Number(values.scaling));
} else if (values.case) {
  const found = CASES.find((x) => x.id === values.case);
  const c = found && {
    ...found,
    ...(values.block ? { attnBlock: Number(values.block) } : {}),
    ...(values["head-chunk"] ? { headChunk: Number(values["head-chunk"]) } : {}),
  };
  if (!c) throw new Error(`unknown case ${values.case}; cases: ${CASES.map((x) => x.id).join(", ")}`);
  console.log(JSON.stringify(await runCase(c)));
} else {
  const results = [];
  for (const c of CASES.filter((x) => !values.only || x.id.startsWith(values.only))) {
    const r = runInChild(c.id);
    results.push(r);
    console.log(JSON.stringify(r));
  }
  console.log(
    "\n| case | step ms | model GFLOP | GFLOP/s | CPU ms | GFLOP per CPU-s | ring wait share | attention work per worker (M pairs) | chunk pairs computed/skipped | saved attn MiB/worker | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of results)
    console.log(
      `| ${r.case} | ${r.stepMs} | ${r.gflops} | ${r.gflopPerS} | ${r.cpuMs} | ${r.gflopPerCpuS} | ${r.ringWaitShare} | ${r.attnWorkM.join(" / ")} | ${r.attnPairsComputed}/${r.attnPairsSkipped} | ${r.attnSavedMiBPerWorker} | ${r.peakRssMiB} |`,
    );
  console.log("\npeer: python3 trainer/bench/torch_step.py (PyTorch 1.13 + OpenBLAS, same model and FLOP count)");
}
