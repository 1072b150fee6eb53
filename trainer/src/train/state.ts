import { z } from "zod";
import { LoaderState } from "../data/loader.js";

/** state.json of a training checkpoint: where the run is, so --resume continues it exactly. */
export const TrainState = z.object({
  formatVersion: z.literal(1),
  recipeName: z.string(),
  /** Stage names of the run, in order (a resume must use the same). */
  stages: z.array(z.string()),
  /** sha256 of the plan (model, stages with their training settings, workers, layout): a resume must train the same thing. */
  planSha256: z.string().regex(/^[0-9a-f]{64}$/),
  stageIndex: z.number().int().nonnegative(),
  stage: z.string(),
  /** Optimizer steps done in this stage. */
  stageStep: z.number().int().nonnegative(),
  /** True when the stage is finished (the next one starts from these weights with a fresh optimizer). */
  stageDone: z.boolean(),
  /** Optimizer steps over all stages. */
  globalStep: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  loader: LoaderState,
  /** rows × seqLen tokens consumed per finished-or-running stage. */
  consumedTokens: z.record(z.string(), z.number().int().nonnegative()),
  /** metrics.jsonl lines written when this checkpoint was taken. */
  metricsLines: z.number().int().nonnegative(),
});
export type TrainState = z.infer<typeof TrainState>;

/** <run>/latest.json: the checkpoint folder (relative to the run folder) to resume from. */
export const LatestPointer = z.object({ checkpoint: z.string() });
