/**
 * The engine and its ring workers share parameters and gradients through SharedArrayBuffers instead
 * of structured-cloning ~45 MB of weights to every worker on every call (measured: 75–107 ms of the
 * main thread per 8K step at P = 2) and summing every worker's gradients on the main thread.
 *
 * onnxruntime rejects SharedArrayBuffer-backed tensors ("Invalid argument"), so each worker copies the
 * weights out into its own buffers — in parallel, a memcpy. Gradients: every worker copies its own
 * into its region, then each worker sums one slice of the parameter vector over all regions, in rank
 * order (so the result is bit-identical to a serial sum), into the output region.
 */
import type { LlamaConfig, Params } from "../model/api.js";
import { EMBED, VISION_EMBED, paramShapes } from "../model/params.js";

/** The parameters ring workers use (all but the embeddings, whose lookup and gradient stay on the main thread), back to back. */
export class FlatParams {
  readonly offsets = new Map<string, { at: number; size: number }>();
  readonly total: number;

  constructor(cfg: LlamaConfig) {
    let at = 0;
    for (const [name, shape] of paramShapes(cfg)) {
      if (name === EMBED || name === VISION_EMBED) continue;
      const size = shape.reduce((a, b) => a * b, 1);
      this.offsets.set(name, { at, size });
      at += size;
    }
    this.total = at;
  }
}

/** Buffers shared by the engine and its P workers: the parameters, and P + 1 gradient regions (one per worker, then the sum). */
export interface SharedBuffers {
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
}

export function createSharedBuffers(flat: FlatParams, workers: number): SharedBuffers {
  // A ring of one hands its gradients over directly (nothing to sum).
  return { params: new SharedArrayBuffer(flat.total * 4), grads: new SharedArrayBuffer(workers > 1 ? flat.total * 4 * (workers + 1) : 0) };
}

/** Main thread: publishes the weights for the workers (`params` already passed checkParams). */
export function writeParams(flat: FlatParams, shared: SharedBuffers, params: Params): void {
  const view = new Float32Array(shared.params);
  for (const [name, { at }] of flat.offsets) view.set(params.get(name)!, at);
}

/** Worker: its own copy of the published weights (reusing `into` when given). */
export function readParams(flat: FlatParams, shared: SharedBuffers, into?: Params): Params {
  const view = new Float32Array(shared.params);
  const out: Params = into ?? new Map();
  for (const [name, { at, size }] of flat.offsets) {
    let a = out.get(name);
    if (!a) {
      a = new Float32Array(size);
      out.set(name, a);
    }
    a.set(view.subarray(at, at + size));
  }
  return out;
}

function region(flat: FlatParams, shared: SharedBuffers, r: number): Float32Array {
  return new Float32Array(shared.grads, r * flat.total * 4, flat.total);
}

/** Worker `rank`: copies its accumulated gradients into its region (zeros for parameters it never touched). */
export function writeGrads(flat: FlatParams, shared: SharedBuffers, rank: number, grads: Params): void {
  const view = region(flat, shared, rank);
  for (const [name, { at, size }] of flat.offsets) {
    const g = grads.get(name);
    if (g) view.set(g, at);
    else view.fill(0, at, at + size);
  }
}

/** The slice of the flat vector worker `rank` of `workers` reduces. */
export function reduceSlice(flat: FlatParams, rank: number, workers: number): { from: number; to: number } {
  return { from: Math.floor((rank * flat.total) / workers), to: Math.floor(((rank + 1) * flat.total) / workers) };
}

/** Worker: out[from, to) = Σ over regions 0..workers−1, added in rank order. */
export function reduceGrads(flat: FlatParams, shared: SharedBuffers, workers: number, from: number, to: number): void {
  const out = region(flat, shared, workers);
  out.set(region(flat, shared, 0).subarray(from, to), from);
  for (let r = 1; r < workers; r++) {
    const g = region(flat, shared, r);
    for (let j = from; j < to; j++) out[j]! += g[j]!;
  }
}

/** Main thread: the summed gradients, copied out per parameter. */
export function readGradSum(flat: FlatParams, shared: SharedBuffers, workers: number): Params {
  const sum = region(flat, shared, workers);
  return new Map([...flat.offsets].map(([name, { at, size }]) => [name, sum.slice(at, at + size)]));
}
