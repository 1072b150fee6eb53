/** Model FLOPs of one training step: 6·(non-embedding params + LM head)·tokens + attention over unmasked pairs only. */
import type { LlamaConfig } from "../src/model/index.js";

export function denseParams(cfg: LlamaConfig): number {
  const d = cfg.dim, f = cfg.ffnDim;
  return cfg.layers * (4 * d * d + 3 * d * f + 2 * d) + d + cfg.vocabSize * d;
}

/** QKᵀ and PV are 2·d FLOPs each per allowed (query, key) pair and layer forward; backward twice that. */
export function attentionFlops(cfg: LlamaConfig, unmaskedPairs: number): number {
  return 3 * 4 * cfg.dim * cfg.layers * unmaskedPairs;
}

export function stepFlops(cfg: LlamaConfig, tokens: number, unmaskedPairs: number): number {
  return 6 * denseParams(cfg) * tokens + attentionFlops(cfg, unmaskedPairs);
}
