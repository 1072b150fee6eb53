/**
 * A ring worker thread: owns one set of onnxruntime sessions (intraOpNumThreads 1) and a BlockModel,
 * and answers the engine's requests one at a time, in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { OnnxKernels } from "../onnx/kernels.js";
import { ringAttentionBackward, ringAttentionForward, type AttnCtx } from "./attention.js";
import { BlockModel } from "./block.js";
import { RingLink } from "./link.js";
import type { AttnJob, AttnResult, Reply, Request, WorkerInit } from "./protocol.js";
import { FlatParams, readParams, reduceGrads, writeGrads } from "./shared.js";
import type { Params } from "../model/api.js";

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error("ring worker must run in a worker thread");

const { cfg } = init;
const link = init.next && init.prev ? new RingLink(init.rank, init.size, init.next, init.prev) : null;
const kernelsReady = OnnxKernels.create(
  { dim: cfg.dim, heads: cfg.heads, ffnDim: cfg.ffnDim, normEps: cfg.normEps, vocabSize: cfg.vocabSize, visionVocabSize: cfg.visionVocabSize },
  init.intraOpThreads,
);
const flat = new FlatParams(cfg);
let model: BlockModel | undefined;
let params: Params | undefined;
let attnCalls = 0;

/** Ring attention alone, forward then backward (o = oacc/l, D = rowsum(dO⊙o) computed here). */
async function attention(kernels: OnnxKernels, job: AttnJob): Promise<AttnResult> {
  const h = cfg.heads,
    hd = cfg.dim / h,
    n = job.seg.length,
    C = job.C;
  const lay = { n, C, nc: n / C, seg: job.seg, pos: job.pos };
  const ctx: AttnCtx = { kernels, link, heads: h, headDim: hd, stats: model!.attnStats, tag: `attn${attnCalls++}` };
  const { oacc, m, l } = await ringAttentionForward(ctx, lay, job.q, job.k, job.v);
  const R = h * n,
    o = new Float32Array(oacc.length),
    lse = new Float32Array(R),
    D = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    lse[r] = m[r]! + Math.log(l[r]!);
    let s = 0;
    for (let c = 0; c < hd; c++) {
      o[r * hd + c] = oacc[r * hd + c]! / l[r]!;
      s += job.dO[r * hd + c]! * o[r * hd + c]!;
    }
    D[r] = s;
  }
  const { dq, dk, dv } = await ringAttentionBackward(ctx, lay, job.q, job.k, job.v, job.dO, lse, D);
  return { o, dq, dk, dv };
}

async function handle(req: Request): Promise<{ reply: Reply; transfer: ArrayBuffer[] }> {
  const kernels = await kernelsReady;
  model ??= new BlockModel(kernels, cfg, link, init.headChunk);
  switch (req.type) {
    case "params":
      params = readParams(flat, init.shared, params);
      model.setParams(params);
      return { reply: { id: req.id, type: "ok" }, transfer: [] };
    case "row": {
      const out = await model.run(req.row, req.train);
      const owned = [out.dx0, ...(out.kv?.k ?? []), ...(out.kv?.v ?? [])].filter(
        (a): a is Float32Array => a !== undefined && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength,
      );
      return { reply: { id: req.id, type: "row", out }, transfer: owned.map((a) => a.buffer as ArrayBuffer) };
    }
    case "grads": {
      const grads = model.takeGrads();
      return { reply: { id: req.id, type: "grads", grads }, transfer: [...grads.values()].map((g) => g.buffer as ArrayBuffer) };
    }
    case "shareGrads":
      writeGrads(flat, init.shared, init.rank, model.takeGrads());
      return { reply: { id: req.id, type: "ok" }, transfer: [] };
    case "reduce":
      reduceGrads(flat, init.shared, init.size, req.from, req.to);
      return { reply: { id: req.id, type: "ok" }, transfer: [] };
    case "attn": {
      const result = await attention(kernels, req.job);
      return { reply: { id: req.id, type: "attn", result }, transfer: [] };
    }
    case "close":
      await kernels.release();
      link?.close();
      return { reply: { id: req.id, type: "ok" }, transfer: [] };
    case "stats":
      return {
        reply: {
          id: req.id,
          type: "stats",
          stats: {
            computeMs: kernels.computeMs,
            ringWaitMs: link ? link.waitMs : 0,
            pairs: model.attnStats.pairs,
            unmasked: model.attnStats.unmasked,
            skipped: model.attnStats.skipped,
            graphMs: Object.fromEntries(kernels.graphMs),
          },
        },
        transfer: [],
      };
  }
}

// Requests are served strictly in order: the ring protocol relies on every worker doing the same sequence.
let chain: Promise<void> = Promise.resolve();
port.on("message", (req: Request) => {
  chain = chain.then(async () => {
    try {
      const { reply, transfer } = await handle(req);
      port.postMessage(reply, transfer);
    } catch (e) {
      port.postMessage({ id: req.id, type: "error", message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) } satisfies Reply);
    }
  });
});
