/**
 * RingAttention alone (forward + backward through real ring workers), one 8K packed row:
 *   node trainer/bench/dist/bench/attention.js [--workers P] [--layout L] [--block C] [--seq N]
 * Prints wall and CPU time and GFLOP/s over the pairs the masks allow (4·dim per pair forward, 8·dim backward).
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { normalSampler } from "../src/model/rng.js";
import { unmaskedPairs } from "../src/model/rows.js";
import { RingAttention } from "../src/ring/harness.js";
import type { Layout } from "../src/ring/layout.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1" },
    layout: { type: "string", default: "balanced" },
    block: { type: "string" },
    seq: { type: "string", default: "8192" },
  },
});
const P = Number(values.workers),
  L = Number(values.seq),
  heads = 4,
  hd = 64,
  D = heads * hd;
const workerFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../dist/ring/worker.js");
// the bench row's documents (train-step.ts benchRow at 8K): 1757, 3830, 2541, then padding
const seg = new Int32Array(L);
let at = 0;
[1757, 3830, 2541]
  .map((n) => Math.round((n * L) / 8192))
  .forEach((n, s) => {
    seg.fill(s + 1, at, at + n);
    at += n;
  });
seg.fill(4, at);
const g = normalSampler(1);
const rnd = () => Float32Array.from({ length: L * D }, () => g());
const q = rnd(),
  k = rnd(),
  v = rnd(),
  dO = rnd();
const ring = RingAttention.create(heads, hd, P, values.layout as Layout, workerFile);
await ring.run(q, k, v, dO, seg, values.block ? Number(values.block) : undefined);
const walls: number[] = [],
  cpus: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  await ring.run(q, k, v, dO, seg, values.block ? Number(values.block) : undefined);
  const c = process.cpuUsage(c0);
  walls.push(performance.now() - t0);
  cpus.push((c.user + c.system) / 1000);
}
await ring.close();
const med = (a: number[]) => [...a].sort((x, y) => x - y)[1]!;
const flops = 12 * D * unmaskedPairs(seg);
console.log(
  JSON.stringify({
    P,
    layout: values.layout,
    block: values.block ?? "default",
    seqLen: L,
    wallMs: Math.round(med(walls)),
    cpuMs: Math.round(med(cpus)),
    gflopPerS: +(flops / 1e6 / med(walls)).toFixed(1),
    gflopPerCpuS: +(flops / 1e6 / med(cpus)).toFixed(1),
  }),
);
