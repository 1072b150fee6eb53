import type { z } from "zod";
import type { LrSchedule } from "@lwm/schemas";

export type LrScheduleConfig = z.infer<typeof LrSchedule>;

/**
 * Learning rate of optimizer step `step` (0-based) of a stage with `totalSteps` steps.
 * - warmup: linear, peak·(step+1)/warmupSteps, so the first step already moves the weights
 *   (optax's warmup starts at exactly 0, which spends a step doing nothing) and step
 *   warmupSteps−1 runs at the peak;
 * - then "constant": the peak; "cosine": from the peak down to peak·minRatio at the stage's last
 *   step, peak·(r + (1−r)·½(1+cos(π·progress))), progress = (step−warmup)/(totalSteps−1−warmup).
 */
export function lrAt(s: LrScheduleConfig, step: number, totalSteps: number): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  if (s.decay === "constant") return s.peak;
  const span = totalSteps - 1 - s.warmupSteps;
  const progress = span <= 0 ? 1 : Math.min(1, (step - s.warmupSteps) / span);
  return s.peak * (s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
