import { z } from "zod";
import { strictObject } from "./strict.js";

/**
 * The training retrieval task (pipelines/recall): spans of the documents of books sources with
 * facts ("the secret code of {city} is {7 digits}") planted at random depths and asked for at the
 * end, in the chat frame, loss on the answer only. The needle evaluation's twin with disjoint
 * cities, numbers and wording (trainer/src/eval/facts.ts). Stages mix it in by name like any source.
 */
export const RecallSource = strictObject({
  kind: z.literal("recall"),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  /** Books sources whose documents are the haystacks. */
  from: z.array(z.string().min(1)).min(1),
  /** Facts planted per example: 1..maxFacts, uniformly; 1..all of them are asked for. */
  maxFacts: z.number().int().min(1).max(8).default(2),
  /** An example's length, as a fraction of the stage's seqLen, is drawn uniformly from this range. */
  lengthFraction: z
    .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
    .default([0.25, 1])
    .refine(([lo, hi]) => lo <= hi, { message: "lengthFraction is [min, max] with min <= max" }),
  /**
   * Instead of lengthFraction: the tokens of book text around the facts, drawn uniformly from
   * [min, max] (at least 32; capped by what fits in the stage's seqLen). Short haystacks are where
   * a small model first learns the lookup (docs/tiny-lwm.md).
   */
  haystackTokens: z
    .tuple([z.number().int().min(32), z.number().int().min(32)])
    .optional()
    .refine((r) => r === undefined || r[0] <= r[1], { message: "haystackTokens is [min, max] with min <= max" }),
  /**
   * The facts' keys: `cities` (108 real ones) or `names` (synthetic, billions). A small model
   * memorises the 108 cities instead of copying the key from the question; names leave only the
   * copy to learn. Neither list shares text with the evaluation's cities.
   */
  keys: z.enum(["cities", "names"]).default("cities"),
  /** Times each document is cut into examples; every pass cuts at other lengths and plants other facts. */
  passes: z.number().int().min(1).max(64).default(1),
  seed: z.number().int().default(0),
});
export type RecallSource = z.infer<typeof RecallSource>;
