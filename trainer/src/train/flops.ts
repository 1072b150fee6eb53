import type { LlamaConfig } from "../model/api.js";

/**
 * Parameters that cost a multiply-add per token: every layer's matrices and norms, the final norm
 * and the output head(s). Embedding lookups cost nothing and are left out (Kaplan et al.'s N).
 */
export function computeParams(cfg: LlamaConfig): number {
  const { dim: d, ffnDim: f } = cfg;
  const perLayer = 4 * d * d + 3 * d * f + 2 * d;
  return cfg.layers * perLayer + d + cfg.vocabSize * d + cfg.visionVocabSize * d;
}

/**
 * Model FLOPs of a training step (forward + backward): 6·N per token processed, plus attention,
 * which per layer costs 4·dim FLOPs forward (q·k and p·v) for every query–key pair the causal and
 * segment masks allow, ×3 with the backward pass. Counting allowed pairs (not seqLen²) means
 * masked-out work that a kernel skips is not credited as useful.
 */
export function trainStepFlops(cfg: LlamaConfig, tokens: number, unmaskedPairsPerLayer: number): number {
  return 6 * computeParams(cfg) * tokens + 12 * cfg.layers * cfg.dim * unmaskedPairsPerLayer;
}
