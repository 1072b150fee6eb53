/**
 * k-means over 16×16 patches, bit-deterministic for a seed: the initial centres are distinct
 * patches in a seeded order, assignment runs in onnxruntime on exact integer scores (patch-model.ts),
 * and centres are integer sums divided and rounded to uint8 in a fixed order. Thread count changes
 * only the speed.
 */
import * as ort from "onnxruntime-node";
import { createHash } from "node:crypto";
import { PATCH_DIM, patchAssignGraph } from "./patch-model.js";
import { mulberry32 as prng } from "@lwm/core";

export interface KMeansOptions {
  codes: number;
  iterations: number;
  seed: number;
  threads: number;
  onIteration?: (info: { iteration: number; iterations: number; changed: number; seconds: number }) => void;
}

/** Up to `k` distinct patches, in a seeded random order. */
function initialCentres(patches: Uint8Array, k: number, seed: number): Uint8Array {
  const p = patches.length / PATCH_DIM;
  const order = Uint32Array.from({ length: p }, (_, i) => i);
  const rand = prng(seed);
  const seen = new Set<string>();
  const out: number[] = [];
  for (let i = 0; i < p && out.length < k; i++) {
    const j = i + Math.floor(rand() * (p - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
    const idx = order[i]!;
    const key = createHash("sha1")
      .update(patches.subarray(idx * PATCH_DIM, (idx + 1) * PATCH_DIM))
      .digest("base64");
    if (!seen.has(key)) {
      seen.add(key);
      out.push(idx);
    }
  }
  const centres = new Uint8Array(out.length * PATCH_DIM);
  out.forEach((idx, c) => centres.set(patches.subarray(idx * PATCH_DIM, (idx + 1) * PATCH_DIM), c * PATCH_DIM));
  return centres;
}

const BATCH = 4096;

export class PatchAssigner {
  private constructor(private readonly session: ort.InferenceSession) {}
  static async create(threads: number): Promise<PatchAssigner> {
    return new PatchAssigner(await ort.InferenceSession.create(patchAssignGraph().toBytes(), { intraOpNumThreads: threads, interOpNumThreads: 1 }));
  }
  async assign(patches: Uint8Array, codebook: Uint8Array): Promise<Uint16Array> {
    const p = patches.length / PATCH_DIM,
      k = codebook.length / PATCH_DIM;
    const out = new Uint16Array(p);
    const cb = new ort.Tensor("uint8", codebook, [k, PATCH_DIM]);
    for (let s = 0; s < p; s += BATCH) {
      const n = Math.min(BATCH, p - s);
      const r = await this.session.run({
        patches: new ort.Tensor("uint8", patches.subarray(s * PATCH_DIM, (s + n) * PATCH_DIM), [n, PATCH_DIM]),
        codebook: cb,
      });
      out.set(r.codes!.data as Uint16Array, s);
    }
    return out;
  }
  release(): Promise<void> {
    return this.session.release();
  }
}

export async function fitPatchCodebook(
  patches: Uint8Array,
  opts: KMeansOptions,
): Promise<{ codebook: Uint8Array; assignment: Uint16Array; iterations: number }> {
  let centres = initialCentres(patches, opts.codes, opts.seed);
  const k = centres.length / PATCH_DIM;
  const p = patches.length / PATCH_DIM;
  const assigner = await PatchAssigner.create(opts.threads);
  try {
    let assignment: Uint16Array = new Uint16Array(p).fill(0xffff);
    let it = 0;
    for (; it < opts.iterations; it++) {
      const t0 = performance.now();
      const next = await assigner.assign(patches, centres);
      let changed = 0;
      for (let i = 0; i < p; i++) if (next[i] !== assignment[i]) changed++;
      assignment = next;
      opts.onIteration?.({ iteration: it + 1, iterations: opts.iterations, changed, seconds: (performance.now() - t0) / 1000 });
      if (changed === 0) break;
      const sums = new Float64Array(k * PATCH_DIM),
        counts = new Uint32Array(k);
      for (let i = 0; i < p; i++) {
        const c = assignment[i]!;
        counts[c]!++;
        const base = c * PATCH_DIM,
          src = i * PATCH_DIM;
        for (let d = 0; d < PATCH_DIM; d++) sums[base + d]! += patches[src + d]!;
      }
      const updated = new Uint8Array(centres);
      for (let c = 0; c < k; c++) {
        if (counts[c] === 0) continue; // an empty cluster keeps its centre
        for (let d = 0; d < PATCH_DIM; d++) updated[c * PATCH_DIM + d] = Math.round(sums[c * PATCH_DIM + d]! / counts[c]!);
      }
      centres = updated;
    }
    // Final codes for the final centres (what the encoder graph would give).
    assignment = await assigner.assign(patches, centres);
    return { codebook: centres, assignment, iterations: it };
  } finally {
    await assigner.release();
  }
}
