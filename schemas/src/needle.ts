import { z } from "zod";

/** One cell of a needle-in-a-haystack run (lwm-spec §8). */
export const NeedleEvalRecord = z
  .object({
    formatVersion: z.literal(1),
    checkpoint: z.string(),
    /** Context length in tokens. */
    contextTokens: z.number().int().positive(),
    /** Relative depth of the (first) needle, 0..1. */
    depth: z.number().min(0).max(1),
    needles: z.number().int().positive(),
    trials: z.number().int().positive(),
    correct: z.number().int().nonnegative(),
    accuracy: z.number().min(0).max(1),
    /** Fraction of all needles (trials × needles) whose number was in the answer; LWM's per-needle multi-needle score. */
    recall: z.number().min(0).max(1).optional(),
    /** Wording of needles and question: LWM's needle ("lwm", the default) or the training retrieval task's ("recall"). */
    template: z.enum(["lwm", "recall"]).optional(),
  })
  .refine((r) => r.correct <= r.trials, { message: "correct cannot exceed trials", path: ["correct"] });
export type NeedleEvalRecord = z.infer<typeof NeedleEvalRecord>;
