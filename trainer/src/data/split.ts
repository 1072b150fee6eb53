import { createHash } from "node:crypto";
import { uniformSampler } from "../model/rng.js";

/**
 * Held-out split: a row is an eval row iff a hash of (its shard's sha256, its row index) falls
 * below `evalFraction`. The shard's sha256 names its content, so the split is a pure function of
 * the data (not of file names, shard order or the training run) and never changes on resume.
 */
export function isHeldOut(shardSha256: string, row: number, evalFraction: number): boolean {
  if (evalFraction <= 0) return false;
  const h = createHash("sha256").update(`${shardSha256}:${row}`).digest();
  // 48 bits is exact in a double and fine-grained enough for any fraction.
  const u = h.readUIntBE(0, 6) / 2 ** 48;
  return u < evalFraction;
}

/** A 32-bit seed from (seed, epoch), so every epoch gets its own, reproducible order. */
function epochSeed(seed: number, epoch: number): number {
  const h = createHash("sha256").update(`shuffle:${seed}:${epoch}`).digest();
  return h.readInt32LE(0);
}

/** Fisher–Yates permutation of `items`, a pure function of (items, seed, epoch). */
export function shuffled(items: Int32Array, seed: number, epoch: number): Int32Array {
  const out = items.slice();
  const u = uniformSampler(epochSeed(seed, epoch));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
