import { createHash } from "node:crypto";
import { mulberry32 } from "@lwm/core";
import type { NextToken } from "@lwm/trainer";
import type { Sampling } from "@lwm/schemas";

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i += 1) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

/**
 * Nucleus (top-p) sampling at a temperature: softmax(logits / T), the smallest set of most likely
 * tokens whose probability reaches p, one draw from it renormalised. Ties are broken by id, so the
 * result depends only on the logits and the generator's state.
 */
export function topP(logits: ArrayLike<number>, temperature: number, p: number, random: () => number): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i += 1) max = Math.max(max, logits[i] as number);
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i += 1) {
    probs[i] = Math.exp(((logits[i] as number) - max) / temperature);
    sum += probs[i] as number;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < n && mass < p * sum) mass += probs[order[kept++] as number] as number;
  let u = random() * mass;
  for (let k = 0; k < kept; k += 1) {
    u -= probs[order[k] as number] as number;
    if (u <= 0) return order[k] as number;
  }
  return order[kept - 1] as number;
}

/**
 * The next-token rule of a sampling setting for one chunk. Top-p draws from a generator seeded by
 * (seed, chunk id), so a chunk gets the same text whatever order or slice it runs in.
 */
export function nextTokenRule(sampling: Sampling, chunkId: string): NextToken {
  if (sampling.mode === "greedy") return argmax;
  const seed = createHash("sha256").update(`${sampling.seed}\u0000${chunkId}`).digest().readUInt32LE(0);
  const random = mulberry32(seed);
  return (logits) => topP(logits, sampling.temperature, sampling.topP, random);
}
