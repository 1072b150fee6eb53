/** Messages between the engine (main thread) and its ring workers. */
import type { MessagePort } from "node:worker_threads";
import type { LlamaConfig, Params } from "../model/api.js";
import type { RowInput, RowOutput } from "./block.js";
import type { SharedBuffers } from "./shared.js";

export interface WorkerInit {
  cfg: LlamaConfig;
  rank: number;
  size: number;
  headChunk: number;
  intraOpThreads: number;
  /** Parameters and gradient regions shared with the engine (shared.ts). */
  shared: SharedBuffers;
  /** Port to rank+1 and from rank−1 (absent for a ring of one). */
  next?: MessagePort;
  prev?: MessagePort;
}

/** Attention alone (tests and benchmarks): q, k, v, dO in the worker's chunked layout [nc, h, C, hd]. */
export interface AttnJob {
  seg: Float32Array;
  pos: Float32Array;
  C: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dO: Float32Array;
}
export interface AttnResult {
  o: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

export type Request =
  /** Copy the weights the engine published in the shared buffer. */
  | { id: number; type: "params" }
  | { id: number; type: "row"; row: RowInput; train: boolean }
  /** Hand the accumulated gradients over (transferred; a ring of one). */
  | { id: number; type: "grads" }
  /** Copy the accumulated gradients into this worker's shared region, then… */
  | { id: number; type: "shareGrads" }
  /** …sum elements [from, to) of every worker's region into the shared sum. */
  | { id: number; type: "reduce"; from: number; to: number }
  | { id: number; type: "attn"; job: AttnJob }
  | { id: number; type: "stats" }
  /** Releases the sessions; the worker is terminated after it answers (terminating one mid-session-creation aborts the process). */
  | { id: number; type: "close" };

export interface WorkerStats {
  computeMs: number;
  ringWaitMs: number;
  pairs: number;
  unmasked: number;
  skipped: number;
  graphMs: Record<string, number>;
}

export type Reply =
  | { id: number; type: "ok" }
  | { id: number; type: "row"; out: RowOutput }
  | { id: number; type: "grads"; grads: Params }
  | { id: number; type: "attn"; result: AttnResult }
  | { id: number; type: "stats"; stats: WorkerStats }
  | { id: number; type: "error"; message: string };
