import type { LossResult } from "../model/api.js";

/** Loss terms and counters added up over the engine calls of one step (or one evaluation). */
export interface LossSums extends Omit<LossResult, "stats"> {
  /** Attention (query, key) pairs the masks allowed, for the model-FLOP count. */
  unmaskedPairs: number;
  engineMs: number;
}

export function zeroSums(): LossSums {
  return { loss: 0, textLoss: 0, visionLoss: 0, textCorrect: 0, textTargets: 0, visionCorrect: 0, visionTargets: 0, unmaskedPairs: 0, engineMs: 0 };
}

/** Adds one call's result. Losses are already divided by the global E, so they simply add up. */
export function addLoss(s: LossSums, r: LossResult): void {
  s.loss += r.loss;
  s.textLoss += r.textLoss;
  s.visionLoss += r.visionLoss;
  s.textCorrect += r.textCorrect;
  s.textTargets += r.textTargets;
  s.visionCorrect += r.visionCorrect;
  s.visionTargets += r.visionTargets;
  s.unmaskedPairs += r.stats.unmaskedPairs;
  s.engineMs += r.stats.wallMs;
}

/** correct / targets, or null when there was nothing to predict. */
export function accuracy(correct: number, targets: number): number | null {
  return targets > 0 ? correct / targets : null;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
