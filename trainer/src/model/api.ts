/**
 * The contract between the model/RingAttention core and the training loop.
 *
 * Conventions (read these before using anything below):
 * - Parameters use Hugging Face Llama names and layout: every projection is `[out, in]` row-major, so
 *   `y = x · Wᵀ`. A text-stage checkpoint written as safetensors with these names loads in
 *   `transformers.LlamaForCausalLM` unchanged; RoPE uses HF's half-split `rotate_half` layout.
 * - The vision-language model adds `model.vision_embed_tokens.weight [visionVocab, dim]` and
 *   `vision_head.weight [visionVocab, dim]` (LWM's `vte` and `vision_head`, untied).
 * - Loss (docs/design.md "The packed row"): token i with `loss[i] = 1` is a target predicted from position
 *   i−1 of the same segment. text = Σ weightText[seg]·nll over text targets / E, vision likewise
 *   with the vision head; a text stage trains on `text`, a vision-language stage on 0.5·(text+vision).
 *   Positions restart at 0 in every segment; attention is causal and within-segment; tail padding
 *   attends only to padding and carries no loss.
 * - Gradients are gradients of the *stage loss* (so already divided by E, and halved per modality in
 *   vision-language stages), summed over the rows of the call. Summing the results of several calls
 *   that share one E gives the gradient of the global batch (gradient accumulation).
 */
import type { TrainRow as ShardsTrainRow } from "@lwm/shards";
import { z } from "zod";

/** Llama decoder shape. `visionVocabSize` 0 = text-only model. */
export const LlamaConfig = z
  .object({
    vocabSize: z.number().int().positive(),
    visionVocabSize: z.number().int().nonnegative(),
    dim: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    ffnDim: z.number().int().positive(),
    normEps: z.number().positive(),
    ropeTheta: z.number().positive(),
  })
  .refine((c) => c.dim % c.heads === 0, { message: "dim must be a multiple of heads", path: ["heads"] })
  .refine((c) => (c.dim / c.heads) % 2 === 0, { message: "head dim (dim/heads) must be even for RoPE", path: ["heads"] });
export type LlamaConfig = z.infer<typeof LlamaConfig>;

/** Parameter name → fp32 values, HF Llama names, `[out, in]` row-major. */
export type Params = Map<string, Float32Array>;

export type StageMode = "text" | "vision-language";

/**
 * One packed sequence, as the trainer consumes it: @lwm/shards' TrainRow (a PackedRow minus its ids
 * and provenance; the invariants and views live beside it there). All per-token arrays have length seqLen.
 */
export type TrainRow = ShardsTrainRow;

/** Loss terms of a call. Losses are already divided by E; counts are plain token counts. */
export interface LossResult {
  /** The stage loss: `textLoss` for text stages, 0.5·(textLoss + visionLoss) for vision-language. */
  loss: number;
  textLoss: number;
  visionLoss: number;
  /** Text targets whose argmax prediction was right / all text targets (accuracy = ratio). */
  textCorrect: number;
  textTargets: number;
  visionCorrect: number;
  visionTargets: number;
  /** Where the time went (for benchmarks and logs). */
  stats: EngineStats;
}

export interface StepResult extends LossResult {
  /** d(loss)/d(param) summed over the call's rows; same names and shapes as the params. */
  grads: Params;
}

export interface EngineStats {
  /** Wall time of the call, ms. */
  wallMs: number;
  /** Per ring worker: ms spent waiting for a neighbour's K/V (or dK/dV) block. */
  ringWaitMs: number[];
  /** Per ring worker: ms spent inside onnxruntime (or the reference kernels). */
  computeMs: number[];
  /** Per ring worker: ms per graph (attnStep, head:lossGrad, …); empty for the reference backend. */
  graphMs: Record<string, number>[];
  /** Attention (query-chunk, key-chunk) pairs computed / skipped because fully masked, summed over workers and layers. */
  attnPairsComputed: number;
  attnPairsSkipped: number;
  /** Query·key pairs that are allowed by the causal + segment masks, per layer (for model-FLOP accounting). */
  unmaskedPairs: number;
}

export interface Engine {
  readonly config: LlamaConfig;
  /** Loss and gradients of `rows` (each rows[i].tokens.length must equal the engine's seqLen rules, see createEngine). */
  forwardBackward(params: Params, rows: readonly TrainRow[], examplesInGlobalBatch: number, mode: StageMode): Promise<StepResult>;
  /** Loss only (evaluation). */
  forward(params: Params, rows: readonly TrainRow[], examplesInGlobalBatch: number, mode: StageMode): Promise<LossResult>;
  /**
   * Logits at the last position of `tokens` (one segment, positions 0..n−1), for decoding: a forward
   * pass through the whole ring (the prompt is padded to whole layout pieces with a padding segment).
   * Returns text-head logits [vocabSize]; with `head: "vision"` the vision-head logits.
   */
  logitsLast(params: Params, tokens: Uint32Array, vision?: Uint8Array, head?: "text" | "vision"): Promise<Float32Array>;
  /**
   * The text prompt `tokens` through the model once, as the start of KV-cache decoding: the text
   * logits at the last position and every layer's rotated keys and values (decode.ts continues from it).
   */
  prefill(params: Params, tokens: Uint32Array): Promise<Prefill>;
  close(): Promise<void>;
}

/** A prompt's decoding state after one forward pass. */
export interface Prefill {
  /** Text logits at the last prompt position [vocabSize]. */
  logits: Float32Array;
  /** Per layer, the RoPE-rotated keys and the values of every prompt position, [n, dim] in natural order. */
  k: Float32Array[];
  v: Float32Array[];
}

export interface EngineOptions {
  /** P ring workers (worker threads), each holding seqLen/P tokens of every row. */
  workers: number;
  /**
   * How the sequence is split: "balanced" (default) deals 4P chunks out by their attention work
   * under the row's segments (ring/layout.ts); "zigzag" gives worker i chunks i and 2P−1−i of 2P
   * equal chunks, which balances the causal work of one document per row; "contiguous" gives
   * worker i the i-th of P chunks.
   * seqLen must be divisible by 2P (zigzag), P (contiguous) or 4P (balanced).
   */
  layout?: "zigzag" | "contiguous" | "balanced";
  /** "onnx" (default): onnxruntime-node graphs in ring workers. "reference": the float64 TS reference, full attention, no workers. */
  backend?: "onnx" | "reference";
  /** Query/key chunk of the blockwise attention inside a worker (default: the largest divisor of the layout's piece ≤ 256); must divide the piece. */
  attnBlock?: number;
  /** Rows per step of the LM-head + cross-entropy loop, bounding the logits held at once (default 512). */
  headChunk?: number;
  /** Directory holding the compiled worker script (default: this package's dist/ring). */
  workerDir?: string;
  /** onnxruntime intra-op threads per worker (default 1: one worker per core; keep workers × threads ≤ cores). */
  intraOpThreads?: number;
}

export const EngineOptionsSchema = z.object({
  workers: z.number().int().positive(),
  layout: z.enum(["zigzag", "contiguous", "balanced"]).optional(),
  backend: z.enum(["onnx", "reference"]).optional(),
  attnBlock: z.number().int().positive().optional(),
  headChunk: z.number().int().positive().optional(),
  workerDir: z.string().optional(),
  intraOpThreads: z.number().int().positive().optional(),
});

export {
  paramShapes,
  initParams,
  addVisionParams,
  checkParams,
  zerosLike,
  layerNames,
  EMBED,
  FINAL_NORM,
  LM_HEAD,
  VISION_EMBED,
  VISION_HEAD,
} from "./params.js";

/*
 * Also exported from "./index.js" (model/), or internal to the package where marked:
 *   createEngine(cfg: LlamaConfig, opts: EngineOptions): Promise<Engine>                          — engine.ts
 *   greedyDecode(params, cfg, prompt: Uint32Array, n: number, { kvCache: boolean; eosId?: number }): Uint32Array — decode.ts
 *   referenceForwardBackward(params, cfg, rows: PreparedRow[], mode, withGrads), referenceHidden(…) — reference.ts (float64 oracle; internal)
 *   prepareRow(row, cfg, mode, E, rowIndex): PreparedRow; unmaskedPairs(segId) (internal); RowError — rows.ts
 *   LayoutError (seqLen / attention block not divisible for the layout)                           — ../ring/layout.ts
 * The worker script is loaded from trainer/dist/ring/worker.js: build the package before using the "onnx" backend.
 * Design notes and the test map: ./README.md.
 */
