/**
 * createEngine: the trainer's compute engine. The "onnx" backend runs RingAttention over P worker
 * threads (ring/), each executing onnxruntime graphs (onnx/) on its block of every row; this thread
 * prepares rows, does the embedding lookup and its gradient, and reduces parameter gradients over
 * workers in rank order (so results are bit-identical run to run). The "reference" backend is the
 * float64 reference model (full attention, no workers) for tiny models and tests.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Engine,
  type EngineOptions,
  EngineOptionsSchema,
  type EngineStats,
  LlamaConfig,
  type LossResult,
  type Params,
  type Prefill,
  type StageMode,
  type StepResult,
  type TrainRow,
} from "./api.js";
import { EMBED, LM_HEAD, VISION_EMBED, VISION_HEAD, checkParams, paramShapes } from "./params.js";
import { referencePrefill } from "./decode.js";
import { linear, referenceForwardBackward, referenceHidden } from "./reference.js";
import { type PreparedRow, prepareRow, ropeTables, unmaskedPairs } from "./rows.js";
import type { RowInput } from "../ring/block.js";
import { PIECES_PER_WORKER, attentionChunk, blockIndices, type Layout, pieceLength } from "../ring/layout.js";
import { RingPool } from "../ring/pool.js";
import { readGradSum, reduceSlice, writeParams } from "../ring/shared.js";
import type { WorkerStats } from "../ring/protocol.js";

export const DEFAULT_WORKER_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/ring/worker.js");

export async function createEngine(cfgIn: LlamaConfig, optsIn: EngineOptions): Promise<Engine> {
  const cfg = LlamaConfig.parse(cfgIn);
  const opts = EngineOptionsSchema.parse(optsIn);
  if ((opts.backend ?? "onnx") === "reference") return new ReferenceEngine(cfg);
  const workerFile = opts.workerDir ? path.join(opts.workerDir, "worker.js") : DEFAULT_WORKER_FILE;
  if (!existsSync(workerFile))
    throw new Error(`ring worker script not found at ${workerFile}: build the trainer first (npx tsc -p trainer/tsconfig.build.json)`);
  return new RingEngine(
    cfg,
    RingPool.start(cfg, opts.workers, opts.headChunk ?? 512, workerFile, opts.intraOpThreads ?? 1),
    opts.layout ?? "balanced",
    opts.attnBlock,
  );
}

function emptyLoss(): Omit<LossResult, "stats"> {
  return { loss: 0, textLoss: 0, visionLoss: 0, textCorrect: 0, textTargets: 0, visionCorrect: 0, visionTargets: 0 };
}

/**
 * How a prompt of n tokens is padded for the ring: every one of `pieces` pieces a whole number of
 * attention chunks C. The largest C ≤ 256 whose padding stays within 1/16 of the shortest padding
 * (so a prompt never runs on tiny chunks, and never pads much).
 */
export function promptPadding(n: number, pieces: number): { C: number; L: number } {
  const options = [256, 128, 64, 32, 16, 8].map((C) => ({ C, L: pieces * C * Math.ceil(n / (pieces * C)) }));
  const shortest = Math.min(...options.map((o) => o.L));
  return options.find((o) => o.L <= shortest + shortest / 16)!;
}

/** Gathers rows `idx` of a [*, width] table (float64 or float32) into a new Float32Array. */
function gatherRows(src: ArrayLike<number>, idx: Int32Array, width: number): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let r = 0; r < idx.length; r++) {
    const s = idx[r]! * width;
    for (let c = 0; c < width; c++) out[r * width + c] = src[s + c]!;
  }
  return out;
}
function gather(src: ArrayLike<number>, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length);
  for (let r = 0; r < idx.length; r++) out[r] = src[idx[r]!]!;
  return out;
}

class RingEngine implements Engine {
  constructor(
    readonly config: LlamaConfig,
    private readonly pool: RingPool,
    private readonly layout: Layout,
    private readonly attnBlock: number | undefined,
  ) {}

  forwardBackward(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode): Promise<StepResult> {
    return this.runRows(params, rows, examples, mode, true) as Promise<StepResult>;
  }
  forward(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode): Promise<LossResult> {
    return this.runRows(params, rows, examples, mode, false);
  }

  /** Workers get everything but the embeddings (the lookup and its gradient happen here), through shared memory. */
  private async sendParams(params: Params): Promise<void> {
    writeParams(this.pool.flat, this.pool.shared, params);
    await Promise.all(this.pool.workers.map((_, r) => this.pool.request<"ok">(r, { type: "params" })));
  }

  /** The workers' parameter gradients summed: a ring of one hands its own over; a larger ring reduces in parallel, each worker one slice. */
  private async collectGrads(): Promise<Params> {
    const P = this.pool.size,
      ranks = this.pool.workers.map((_, r) => r);
    if (P === 1) return (await this.pool.request<"grads">(0, { type: "grads" })).grads;
    await Promise.all(ranks.map((r) => this.pool.request<"ok">(r, { type: "shareGrads" })));
    await Promise.all(ranks.map((r) => this.pool.request<"ok">(r, { type: "reduce", ...reduceSlice(this.pool.flat, r, P) })));
    return readGradSum(this.pool.flat, this.pool.shared, P);
  }

  private async workerStats(): Promise<WorkerStats[]> {
    return Promise.all(this.pool.workers.map((_, r) => this.pool.request<"stats">(r, { type: "stats" }).then((x) => x.stats)));
  }

  /** One worker's share of a prepared row. */
  private rowInput(params: Params, prep: PreparedRow, idx: Int32Array, cos: Float64Array, sin: Float64Array, C: number): RowInput {
    const d = this.config.dim,
      hd = d / this.config.heads;
    const x0 = new Float32Array(idx.length * d);
    const wte = params.get(EMBED)!,
      vte = params.get(VISION_EMBED);
    for (let r = 0; r < idx.length; r++) {
      const t = idx[r]!;
      const table = prep.vision[t] === 1 ? vte! : wte;
      x0.set(table.subarray(prep.tokens[t]! * d, (prep.tokens[t]! + 1) * d), r * d);
    }
    return {
      x0,
      cos: gatherRows(cos, idx, hd),
      sin: gatherRows(sin, idx, hd),
      C,
      seg: gather(prep.segId, idx),
      pos: Float32Array.from(idx),
      textTgt: gather(prep.textTarget, idx),
      textW: gather(prep.textWeight, idx),
      visionTgt: gather(prep.visionTarget, idx),
      visionW: gather(prep.visionWeight, idx),
    };
  }

  private async runRows(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode, train: boolean): Promise<LossResult | StepResult> {
    this.usable();
    const t0 = performance.now();
    const cfg = this.config,
      d = cfg.dim,
      P = this.pool.size;
    // Every row is checked before any reaches a worker, so a bad row leaves no partial gradients behind.
    const prepared = rows.map((row, i) => {
      const prep = prepareRow(row, cfg, mode, examples, i);
      return {
        prep,
        C: attentionChunk(pieceLength(prep.seqLen, P, this.layout), this.attnBlock),
        blocks: blockIndices(prep.seqLen, P, this.layout, prep.segId),
      };
    });
    checkParams(params, cfg);
    return this.guard(async () => {
      const before = await this.workerStats();
      await this.sendParams(params);
      const res = emptyLoss();
      let unmasked = 0;
      const dEmbed = train ? new Float32Array(cfg.vocabSize * d) : undefined;
      const dVision = train && cfg.visionVocabSize > 0 ? new Float32Array(cfg.visionVocabSize * d) : undefined;
      for (const { prep, C, blocks } of prepared) {
        const { cos, sin } = ropeTables(prep.pos, d / cfg.heads, cfg.ropeTheta);
        const pending = blocks.map((idx, r) => {
          const row = this.rowInput(params, prep, idx, cos, sin, C);
          return this.pool.request<"row">(r, { type: "row", row, train }, [row.x0.buffer, row.cos.buffer, row.sin.buffer] as ArrayBuffer[]);
        });
        // Every reply gets a handler now (a later one may fail while an earlier one is awaited).
        Promise.all(pending).catch(() => undefined);
        unmasked += unmaskedPairs(prep.segId);
        res.textTargets += prep.textTargets;
        res.visionTargets += prep.visionTargets;
        // In rank order (tokens of different workers may share an embedding row, and float addition does not commute exactly),
        // each as soon as it is back, while later ranks may still compute.
        for (let r = 0; r < pending.length; r++) {
          const { out } = await pending[r]!;
          res.textLoss += out.textLoss / prep.coef;
          res.visionLoss += out.visionLoss / prep.coef;
          res.textCorrect += out.textCorrect;
          res.visionCorrect += out.visionCorrect;
          if (!out.dx0) continue;
          const idx = blocks[r]!;
          for (let j = 0; j < idx.length; j++) {
            const t = idx[j]!,
              table = prep.vision[t] === 1 ? dVision! : dEmbed!,
              base = prep.tokens[t]! * d;
            for (let c = 0; c < d; c++) table[base + c]! += out.dx0[j * d + c]!;
          }
        }
      }
      res.loss = mode === "text" ? res.textLoss : 0.5 * (res.textLoss + res.visionLoss);
      let grads: Params | undefined;
      if (train) {
        // Fixed reduction order (rank 0, 1, …) keeps resumed runs bit-identical.
        const summed = await this.collectGrads();
        grads = new Map();
        for (const [name, shape] of paramShapes(cfg)) {
          if (name === EMBED) grads.set(name, dEmbed!);
          else if (name === VISION_EMBED) grads.set(name, dVision!);
          else grads.set(name, summed.get(name) ?? new Float32Array(shape.reduce((a, b) => a * b, 1)));
        }
      }
      const after = await this.workerStats();
      const stats: EngineStats = {
        wallMs: performance.now() - t0,
        ringWaitMs: after.map((a, r) => a.ringWaitMs - before[r]!.ringWaitMs),
        computeMs: after.map((a, r) => a.computeMs - before[r]!.computeMs),
        graphMs: after.map((a, r) => Object.fromEntries(Object.entries(a.graphMs).map(([k, v]) => [k, Math.round(v - (before[r]!.graphMs[k] ?? 0))]))),
        attnPairsComputed: after.reduce((s, a, r) => s + a.pairs - before[r]!.pairs, 0),
        attnPairsSkipped: after.reduce((s, a, r) => s + a.skipped - before[r]!.skipped, 0),
        unmaskedPairs: unmasked,
      };
      return grads ? { ...res, stats, grads } : { ...res, stats };
    });
  }

  /** A worker that failed mid-ring leaves its neighbours waiting on a hop that never comes: the engine is then unusable. */
  private broken: Error | undefined;
  private usable(): void {
    if (this.broken) throw new Error(`engine unusable after a ring worker failed (${this.broken.message.split("\n")[0]}); close it and create a new one`);
  }
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      this.broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    }
  }

  logitsLast(params: Params, tokens: Uint32Array, vision?: Uint8Array, head: "text" | "vision" = "text"): Promise<Float32Array> {
    return this.runPrompt(params, tokens, vision, head, false).then((r) => r.logits);
  }

  async prefill(params: Params, tokens: Uint32Array): Promise<Prefill> {
    const { logits, kv } = await this.runPrompt(params, tokens, undefined, "text", true);
    return { logits, ...kv! };
  }

  /**
   * One prompt (one segment, positions 0..n−1) forward through the whole ring, padded with a padding
   * segment to whole layout pieces; the logits at n−1 and, with `withKv`, every layer's keys and
   * values back in natural order [n, dim].
   */
  private async runPrompt(params: Params, tokens: Uint32Array, vision: Uint8Array | undefined, head: "text" | "vision", withKv: boolean) {
    const cfg = this.config,
      n = tokens.length,
      P = this.pool.size,
      d = cfg.dim,
      hd = d / cfg.heads;
    if (n === 0) throw new Error("prompt: empty");
    const pieces = P * PIECES_PER_WORKER[this.layout];
    const { C, L } = promptPadding(n, pieces);
    const row: TrainRow = {
      tokens: new Uint32Array(L),
      vision: new Uint8Array(L),
      loss: new Uint8Array(L),
      cuSeqlens: Int32Array.from([0, n]),
      weightText: new Float32Array(1),
      weightVision: new Float32Array(1),
    };
    row.tokens.set(tokens);
    if (vision) row.vision.set(vision);
    const prep = prepareRow(row, cfg, "vision-language", 1);
    const blocks = blockIndices(L, P, this.layout, prep.segId);
    const { cos, sin } = ropeTables(prep.pos, hd, cfg.ropeTheta);
    this.usable();
    checkParams(params, cfg);
    const outs = await this.guard(async () => {
      await this.sendParams(params);
      return Promise.all(
        blocks.map((idx, r) => {
          const input = this.rowInput(params, prep, idx, cos, sin, C);
          const at = idx.indexOf(n - 1);
          if (at >= 0) input.logitsAt = { index: at, head };
          input.returnKv = withKv;
          return this.pool.request<"row">(r, { type: "row", row: input, train: false });
        }),
      );
    });
    const logits = outs.find((o) => o.out.logits)?.out.logits;
    if (!logits) throw new Error("prompt: no worker held the last position");
    if (!withKv) return { logits };
    // Worker-local chunked [nc, heads, C, hd] → natural order [n, d], dropping the padding.
    const k = Array.from({ length: cfg.layers }, () => new Float32Array(n * d));
    const v = Array.from({ length: cfg.layers }, () => new Float32Array(n * d));
    outs.forEach(({ out }, r) => {
      const idx = blocks[r]!;
      for (let li = 0; li < cfg.layers; li++) {
        const kl = out.kv!.k[li]!,
          vl = out.kv!.v[li]!;
        for (let j = 0; j < idx.length; j++) {
          const t = idx[j]!;
          if (t >= n) continue;
          const a = Math.floor(j / C),
            c = j % C;
          for (let h = 0; h < cfg.heads; h++) {
            const src = ((a * cfg.heads + h) * C + c) * hd,
              dst = t * d + h * hd;
            k[li]!.set(kl.subarray(src, src + hd), dst);
            v[li]!.set(vl.subarray(src, src + hd), dst);
          }
        }
      }
    });
    return { logits, kv: { k, v } };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The float64 reference as an Engine (no workers; full attention; for tiny models and tests). */
class ReferenceEngine implements Engine {
  constructor(readonly config: LlamaConfig) {}

  private run(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode, train: boolean) {
    const t0 = performance.now();
    checkParams(params, this.config);
    const prepared = rows.map((r, i) => prepareRow(r, this.config, mode, examples, i));
    const r = referenceForwardBackward(params, this.config, prepared, mode, train);
    const stats: EngineStats = {
      wallMs: performance.now() - t0,
      ringWaitMs: [0],
      computeMs: [performance.now() - t0],
      graphMs: [],
      attnPairsComputed: 0,
      attnPairsSkipped: 0,
      unmaskedPairs: prepared.reduce((s, p) => s + unmaskedPairs(p.segId), 0),
    };
    const { grads, ...loss } = r;
    return { loss: { ...loss, stats }, grads };
  }

  async forwardBackward(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode): Promise<StepResult> {
    const { loss, grads } = this.run(params, rows, examples, mode, true);
    return { ...loss, grads: new Map([...grads!].map(([k, v]) => [k, Float32Array.from(v)])) };
  }
  async forward(params: Params, rows: readonly TrainRow[], examples: number, mode: StageMode): Promise<LossResult> {
    return this.run(params, rows, examples, mode, false).loss;
  }
  async logitsLast(params: Params, tokens: Uint32Array, vision?: Uint8Array, head: "text" | "vision" = "text"): Promise<Float32Array> {
    const cfg = this.config,
      d = cfg.dim,
      n = tokens.length;
    const xf = referenceHidden(params, cfg, tokens, vision ?? new Uint8Array(n));
    const W = params.get(head === "vision" ? VISION_HEAD : LM_HEAD)!;
    return Float32Array.from(linear(xf.subarray((n - 1) * d), 1, d, W, head === "vision" ? cfg.visionVocabSize : cfg.vocabSize));
  }
  async prefill(params: Params, tokens: Uint32Array): Promise<Prefill> {
    checkParams(params, this.config);
    return referencePrefill(params, this.config, tokens);
  }
  async close(): Promise<void> {}
}
