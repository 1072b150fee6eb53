/**
 * RingAttention alone over real ring workers, with inputs and outputs in natural row order
 * ([L, heads·headDim]). For tests and benchmarks: it runs exactly the code path the model uses.
 */
import type { LlamaConfig } from "../model/api.js";
import { DEFAULT_WORKER_FILE } from "../model/engine.js";
import { blockIndices, type Layout, pieceLength, attentionChunk } from "./layout.js";
import { RingPool } from "./pool.js";
import type { WorkerStats } from "./protocol.js";

export interface RingAttentionRun {
  o: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  /** Per worker: compute and ring-wait ms of this call. */
  stats: WorkerStats[];
}

export class RingAttention {
  private constructor(
    private readonly pool: RingPool,
    readonly heads: number,
    readonly headDim: number,
    readonly layout: Layout,
  ) {}

  static create(heads: number, headDim: number, workers: number, layout: Layout = "zigzag", workerFile = DEFAULT_WORKER_FILE): RingAttention {
    // Only the attention graphs are used; the vocabulary fields are placeholders.
    const cfg: LlamaConfig = { vocabSize: 1, visionVocabSize: 0, dim: heads * headDim, layers: 1, heads, ffnDim: 1, normEps: 1e-6, ropeTheta: 1 };
    return new RingAttention(RingPool.start(cfg, workers, 1, workerFile), heads, headDim, layout);
  }

  /** Forward o = attention(q,k,v) under causal+segment masks, then the gradients of ⟨dO, o⟩. */
  async run(q: Float32Array, k: Float32Array, v: Float32Array, dO: Float32Array, segId: Int32Array, attnBlock?: number): Promise<RingAttentionRun> {
    const L = segId.length,
      P = this.pool.size,
      h = this.heads,
      hd = this.headDim,
      D = h * hd;
    const C = attentionChunk(pieceLength(L, P, this.layout), attnBlock);
    const blocks = blockIndices(L, P, this.layout, segId);
    // natural [L, h, hd] ↔ local chunked [nc, h, C, hd]
    const toLocal = (x: Float32Array, idx: Int32Array) => {
      const out = new Float32Array(idx.length * D);
      for (let j = 0; j < idx.length; j++) {
        const a = Math.floor(j / C),
          c = j % C;
        for (let hh = 0; hh < h; hh++) out.set(x.subarray(idx[j]! * D + hh * hd, idx[j]! * D + (hh + 1) * hd), ((a * h + hh) * C + c) * hd);
      }
      return out;
    };
    const fromLocal = (dst: Float32Array, x: Float32Array, idx: Int32Array) => {
      for (let j = 0; j < idx.length; j++) {
        const a = Math.floor(j / C),
          c = j % C;
        for (let hh = 0; hh < h; hh++) dst.set(x.subarray(((a * h + hh) * C + c) * hd, ((a * h + hh) * C + c + 1) * hd), idx[j]! * D + hh * hd);
      }
    };
    const before = await this.stats();
    const results = await Promise.all(
      blocks.map((idx, r) =>
        this.pool.request<"attn">(r, {
          type: "attn",
          job: {
            seg: Float32Array.from(idx, (t) => segId[t]!),
            pos: Float32Array.from(idx),
            C,
            q: toLocal(q, idx),
            k: toLocal(k, idx),
            v: toLocal(v, idx),
            dO: toLocal(dO, idx),
          },
        }),
      ),
    );
    const after = await this.stats();
    const out = { o: new Float32Array(L * D), dq: new Float32Array(L * D), dk: new Float32Array(L * D), dv: new Float32Array(L * D) };
    results.forEach(({ result }, r) => {
      fromLocal(out.o, result.o, blocks[r]!);
      fromLocal(out.dq, result.dq, blocks[r]!);
      fromLocal(out.dk, result.dk, blocks[r]!);
      fromLocal(out.dv, result.dv, blocks[r]!);
    });
    const stats = after.map((a, r) => ({
      computeMs: a.computeMs - before[r]!.computeMs,
      ringWaitMs: a.ringWaitMs - before[r]!.ringWaitMs,
      pairs: a.pairs - before[r]!.pairs,
      unmasked: a.unmasked - before[r]!.unmasked,
      skipped: a.skipped - before[r]!.skipped,
      graphMs: Object.fromEntries(Object.entries(a.graphMs).map(([k, v]) => [k, v - (before[r]!.graphMs[k] ?? 0)])),
    }));
    return { ...out, stats };
  }

  private stats(): Promise<WorkerStats[]> {
    return Promise.all(this.pool.workers.map((_, r) => this.pool.request<"stats">(r, { type: "stats" }).then((x) => x.stats)));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
