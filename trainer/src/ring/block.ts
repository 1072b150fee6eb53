/**
 * One ring worker's share of the model: every layer on its block of the sequence (attention through
 * the ring, feed-forward blockwise on its own tokens), the LM heads with fused cross-entropy on the
 * positions it holds, and the backward of all of it. Parameter gradients accumulate here across rows
 * until the engine collects them.
 */
import type { LlamaConfig, Params } from "../model/api.js";
import { FINAL_NORM, LM_HEAD, VISION_HEAD, layerNames } from "../model/params.js";
import type { Feeds, OnnxKernels } from "../onnx/kernels.js";
import { type AttnCtx, type AttnStats, type LocalLayout, ringAttentionBackward, ringAttentionForward } from "./attention.js";
import type { RingLink } from "./link.js";

/** What the engine sends a worker for one row (all arrays in the worker's local token order). */
export interface RowInput {
  /** Embeddings of the local tokens [n, d]. */
  x0: Float32Array;
  /** RoPE tables [n, headDim]. */
  cos: Float32Array;
  sin: Float32Array;
  seg: Float32Array;
  pos: Float32Array;
  C: number;
  /** Target id predicted at each local position (IGNORE_INDEX, negative: none) and its stage-loss weight. */
  textTgt: Float32Array;
  textW: Float32Array;
  visionTgt: Float32Array;
  visionW: Float32Array;
  /** Decoding: also return the logits of this local position through this head. */
  logitsAt?: { index: number; head: "text" | "vision" };
  /** Prefill: also return every layer's keys and values. */
  returnKv?: boolean;
}

export interface RowOutput {
  /** Σ weight·nll (stage-loss weights) and argmax hits, per head. */
  textLoss: number;
  textCorrect: number;
  visionLoss: number;
  visionCorrect: number;
  /** d(loss)/d(x0) [n, d] when training. */
  dx0?: Float32Array;
  /** The logits asked for by `logitsAt`. */
  logits?: Float32Array;
  /** With `returnKv`: per layer, the rotated keys and the values, chunked [nc, heads, C, headDim] like q. */
  kv?: { k: Float32Array[]; v: Float32Array[] };
}

interface LayerSave {
  x: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  lse: Float32Array;
}

export class BlockModel {
  grads: Params = new Map();
  readonly attnStats: AttnStats = { pairs: 0, unmasked: 0, skipped: 0 };
  private params: Params = new Map();
  private calls = 0;

  constructor(
    private readonly kernels: OnnxKernels,
    private readonly cfg: LlamaConfig,
    private readonly link: RingLink | null,
    private readonly headChunk: number,
  ) {}

  setParams(params: Params): void {
    this.params = params;
  }

  private w(name: string): Float32Array {
    const a = this.params.get(name);
    if (!a) throw new Error(`worker: parameter ${name} was not sent`);
    return a;
  }
  private accumulate(name: string, g: Float32Array): void {
    const acc = this.grads.get(name);
    if (!acc) {
      this.grads.set(name, g.byteOffset === 0 && g.byteLength === g.buffer.byteLength ? g : g.slice());
      return;
    }
    for (let i = 0; i < g.length; i++) acc[i]! += g[i]!;
  }
  /** Hands the accumulated gradients over and starts afresh. */
  takeGrads(): Params {
    const g = this.grads;
    this.grads = new Map();
    return g;
  }

  /** Forward (and with `train`, backward) of one row. `useRing` false runs this block alone (a ring of one). */
  async run(row: RowInput, train: boolean, useRing = true): Promise<RowOutput> {
    const { dim: d, heads: h } = this.cfg,
      hd = d / h;
    const n = row.seg.length,
      C = row.C;
    if (n % C !== 0) throw new Error(`worker: block of ${n} tokens is not a multiple of the attention chunk ${C}`);
    const lay: LocalLayout = { n, C, nc: n / C, seg: row.seg, pos: row.pos };
    const chunkShape = BigInt64Array.from([-1n, BigInt(C), BigInt(h), BigInt(hd)]);
    const call = this.calls++;
    const link = useRing ? this.link : null;
    const ctx = (li: number): AttnCtx => ({ kernels: this.kernels, link, heads: h, headDim: hd, stats: this.attnStats, tag: `${call}/${li}` });
    const saves: LayerSave[] = [];
    const kv = row.returnKv ? { k: [] as Float32Array[], v: [] as Float32Array[] } : undefined;

    let x = row.x0;
    for (let li = 0; li < this.cfg.layers; li++) {
      const L = layerNames(li);
      const { q, k, v } = await this.kernels.run("attnIn", {
        x: [x, [n, d]],
        wn: [this.w(L.inputNorm), [d]],
        wq: [this.w(L.q), [d, d]],
        wk: [this.w(L.k), [d, d]],
        wv: [this.w(L.v), [d, d]],
        cos: [row.cos, [n, hd]],
        sin: [row.sin, [n, hd]],
        chunkShape: [chunkShape, [4]],
      });
      kv?.k.push(k!);
      kv?.v.push(v!);
      const { oacc, m, l } = await ringAttentionForward(ctx(li), lay, q!, k!, v!);
      const post = await this.kernels.run("postAttn", {
        x: [x, [n, d]],
        oacc: [oacc, [lay.nc, h, C, hd]],
        m: [m, [lay.nc, h, C, 1]],
        l: [l, [lay.nc, h, C, 1]],
        ...this.ffnWeights(li),
      });
      if (train) saves.push({ x, q: q!, k: k!, v: v!, o: post.o!, lse: post.lse! });
      x = post.y!;
    }

    const out: RowOutput = { textLoss: 0, textCorrect: 0, visionLoss: 0, visionCorrect: 0, ...(kv ? { kv } : {}) };
    const dxf = train ? new Float32Array(n * d) : undefined;
    const text = await this.head(x, n, row.textTgt, row.textW, LM_HEAD, this.cfg.vocabSize, dxf);
    out.textLoss = text.loss;
    out.textCorrect = text.correct;
    if (row.visionTgt.some((t) => t >= 0)) {
      const vis = await this.head(x, n, row.visionTgt, row.visionW, VISION_HEAD, this.cfg.visionVocabSize, dxf);
      out.visionLoss = vis.loss;
      out.visionCorrect = vis.correct;
    }
    if (row.logitsAt) {
      const { index: j, head } = row.logitsAt;
      const [name, vocab] = head === "vision" ? [VISION_HEAD, this.cfg.visionVocabSize] : [LM_HEAD, this.cfg.vocabSize];
      const res = await this.kernels.runHead("logits", vocab, {
        x: [x.slice(j * d, (j + 1) * d), [1, d]],
        wn: [this.w(FINAL_NORM), [d]],
        W: [this.w(name), [vocab, d]],
      });
      out.logits = res.logits!;
    }
    if (!train || !dxf) return out;

    let dx: Float32Array = dxf;
    for (let li = this.cfg.layers - 1; li >= 0; li--) {
      const L = layerNames(li),
        s = saves[li]!;
      const pb = await this.kernels.run("postAttnBack", {
        x: [s.x, [n, d]],
        o: [s.o, [lay.nc, h, C, hd]],
        dy: [dx, [n, d]],
        chunkShape: [chunkShape, [4]],
        ...this.ffnWeights(li),
      });
      this.accumulate(L.o, pb.dwo!);
      this.accumulate(L.postNorm, pb.dwn!);
      this.accumulate(L.gate, pb.dwg!);
      this.accumulate(L.up, pb.dwu!);
      this.accumulate(L.down, pb.dwd!);
      const { dq, dk, dv } = await ringAttentionBackward(ctx(li), lay, s.q, s.k, s.v, pb.do!, s.lse, pb.D!);
      const ib = await this.kernels.run("attnInBack", {
        x: [s.x, [n, d]],
        wn: [this.w(L.inputNorm), [d]],
        wq: [this.w(L.q), [d, d]],
        wk: [this.w(L.k), [d, d]],
        wv: [this.w(L.v), [d, d]],
        cos: [row.cos, [n, hd]],
        sin: [row.sin, [n, hd]],
        dq: [dq, [lay.nc, h, C, hd]],
        dk: [dk, [lay.nc, h, C, hd]],
        dv: [dv, [lay.nc, h, C, hd]],
        dres: [pb.dh!, [n, d]],
      });
      this.accumulate(L.q, ib.dwq!);
      this.accumulate(L.k, ib.dwk!);
      this.accumulate(L.v, ib.dwv!);
      this.accumulate(L.inputNorm, ib.dwn!);
      dx = ib.dx!;
    }
    out.dx0 = dx;
    return out;
  }

  private ffnWeights(li: number): Feeds {
    const L = layerNames(li),
      { dim: d, ffnDim: f } = this.cfg;
    return { wo: [this.w(L.o), [d, d]], wn: [this.w(L.postNorm), [d]], wg: [this.w(L.gate), [f, d]], wu: [this.w(L.up), [f, d]], wd: [this.w(L.down), [d, f]] };
  }

  /**
   * Final norm + one head + cross-entropy over the positions that carry a target of that head, in one
   * call (the graph loops over chunks of at most `headChunk` rows; the rows are padded to whole chunks).
   */
  private async head(x: Float32Array, n: number, tgt: Float32Array, wt: Float32Array, headName: string, vocab: number, dxf: Float32Array | undefined) {
    const d = this.cfg.dim;
    const idx: number[] = [];
    for (let t = 0; t < n; t++) if (tgt[t]! >= 0) idx.push(t);
    if (idx.length === 0) return { loss: 0, correct: 0 };
    const trips = Math.ceil(idx.length / this.headChunk),
      chunk = Math.ceil(idx.length / trips),
      m = trips * chunk;
    const xs = new Float32Array(m * d),
      ts = new BigInt64Array(m),
      ws = new Float32Array(m),
      valid = new Float32Array(m);
    idx.forEach((t, r) => {
      xs.set(x.subarray(t * d, (t + 1) * d), r * d);
      ts[r] = BigInt(tgt[t]!);
      ws[r] = wt[t]!;
      valid[r] = 1;
    });
    const feeds: Feeds = {
      x: [xs, [m, d]],
      wn: [this.w(FINAL_NORM), [d]],
      W: [this.w(headName), [vocab, d]],
      tgt: [ts, [m, 1]],
      w: [ws, [m, 1]],
      valid: [valid, [m, 1]],
      trips: [BigInt64Array.of(BigInt(trips)), []],
      chunk: [BigInt64Array.of(BigInt(chunk)), [1]],
    };
    // The head's weight gradient accumulates inside the graph, from what earlier rows left.
    if (dxf) feeds.dW0 = [this.grads.get(headName) ?? new Float32Array(vocab * d), [vocab, d]];
    const out = await this.kernels.runHead(dxf ? "lossGrad" : "loss", vocab, feeds);
    if (dxf) {
      this.grads.set(headName, out.dW!);
      this.accumulate(FINAL_NORM, out.dwn!);
      idx.forEach((t, r) => dxf.set(out.dx!.subarray(r * d, (r + 1) * d), t * d));
    }
    return { loss: out.loss![0]!, correct: out.correct![0]! };
  }
}
