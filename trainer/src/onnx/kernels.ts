/**
 * onnxruntime-node sessions for the model's block graphs, one set per thread (intraOpNumThreads 1:
 * one ring worker per core). Inputs are zero-copy views of ordinary ArrayBuffers; outputs come back
 * as fresh Float32Arrays.
 */
import * as ort from "onnxruntime-node";
import type { GraphBuilder } from "@lwm/onnx";
import { type GraphDims, attnIn, attnInBack, attnStep, attnStepBack, headLogits, headLoss, postAttn, postAttnBack } from "./graphs.js";

export type Feed = Float32Array | BigInt64Array;
/** name → [data, dims] */
export type Feeds = Record<string, [Feed, readonly number[]]>;
export type Outputs = Record<string, Float32Array>;

export type GraphName = "attnIn" | "attnInBack" | "attnStep" | "attnStepBack" | "attnStepFull" | "attnStepBackFull" | "postAttn" | "postAttnBack";

export interface KernelDims extends GraphDims {
  vocabSize: number;
  visionVocabSize: number;
}

export class OnnxKernels {
  /** Milliseconds spent inside session.run since creation. */
  computeMs = 0;
  calls = 0;
  /** Milliseconds per graph (for benchmarks). */
  readonly graphMs = new Map<string, number>();
  private sessions = new Map<string, ort.InferenceSession>();

  private constructor(
    readonly dims: KernelDims,
    private readonly threads: number,
  ) {}

  static async create(dims: KernelDims, intraOpThreads = 1): Promise<OnnxKernels> {
    const k = new OnnxKernels(dims, intraOpThreads);
    const graphs: Record<GraphName, GraphBuilder> = {
      attnIn: attnIn(dims),
      attnInBack: attnInBack(dims),
      attnStep: attnStep(dims),
      attnStepBack: attnStepBack(dims),
      attnStepFull: attnStep(dims, false),
      attnStepBackFull: attnStepBack(dims, false),
      postAttn: postAttn(dims),
      postAttnBack: postAttnBack(dims),
    };
    for (const [name, g] of Object.entries(graphs)) k.sessions.set(name, await k.session(g));
    return k;
  }

  private session(g: GraphBuilder): Promise<ort.InferenceSession> {
    return ort.InferenceSession.create(g.toBytes(), {
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
  }

  /** The LM head graphs are built on first use (they embed an iota of the vocabulary). */
  private async head(kind: "loss" | "lossGrad" | "logits", vocab: number): Promise<ort.InferenceSession> {
    const key = `${kind}:${vocab}`;
    let s = this.sessions.get(key);
    if (!s) {
      const { dim, normEps } = this.dims;
      s = await this.session(kind === "logits" ? headLogits(dim, vocab, normEps) : headLoss(dim, vocab, normEps, kind === "lossGrad"));
      this.sessions.set(key, s);
    }
    return s;
  }

  run(graph: GraphName, feeds: Feeds): Promise<Outputs> {
    const s = this.sessions.get(graph);
    if (!s) throw new Error(`no session ${graph}`);
    return this.exec(s, feeds, graph);
  }

  async runHead(kind: "loss" | "lossGrad" | "logits", vocab: number, feeds: Feeds): Promise<Outputs> {
    return this.exec(await this.head(kind, vocab), feeds, `head:${kind}`);
  }

  private async exec(s: ort.InferenceSession, feeds: Feeds, label: string): Promise<Outputs> {
    const t0 = performance.now();
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, [data, dims]] of Object.entries(feeds)) {
      ortFeeds[name] = data instanceof BigInt64Array ? new ort.Tensor("int64", data, dims) : new ort.Tensor("float32", data, dims);
    }
    const res = await s.run(ortFeeds);
    const out: Outputs = {};
    for (const [name, t] of Object.entries(res)) {
      if (!(t.data instanceof Float32Array)) throw new Error(`output ${name} is not float32`);
      out[name] = t.data;
    }
    const ms = performance.now() - t0;
    this.computeMs += ms;
    this.graphMs.set(label, (this.graphMs.get(label) ?? 0) + ms);
    this.calls++;
    return out;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
