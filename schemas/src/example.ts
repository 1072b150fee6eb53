import { z } from "zod";
import { Provenance } from "./provenance.js";

/** LWM task layouts (lwm-spec §4). */
export const TaskKind = z.enum([
  "text",
  "image-text",
  "text-image",
  "video-text",
  "text-video",
  "vision-chat",
  "text-chat",
  "qa-chat",
]);
export type TaskKind = z.infer<typeof TaskKind>;

const TokenArray = z.union([z.instanceof(Uint16Array), z.instanceof(Uint32Array)]);

/**
 * One training example in LWM layout: tokens plus a vision flag (which table) and a loss flag
 * (token i is a target predicted from tokens < i of this example) per token. `loss[0]` is always 0.
 */
export const ExampleRecord = z
  .object({
    /** Deterministic, content-derived: see `exampleIdOf` in @lwm/core. */
    exampleId: z.string().regex(/^[0-9a-f]{32}$/),
    task: TaskKind,
    tokens: TokenArray,
    /** 1 where the token indexes the vision table. */
    vision: z.instanceof(Uint8Array),
    /** 1 where the token is a loss target. */
    loss: z.instanceof(Uint8Array),
    provenance: Provenance,
  })
  .superRefine((e, ctx) => {
    const n = e.tokens.length;
    if (n === 0) ctx.addIssue({ code: "custom", path: ["tokens"], message: "an example needs at least one token" });
    if (e.vision.length !== n) ctx.addIssue({ code: "custom", path: ["vision"], message: `length ${e.vision.length} != tokens ${n}` });
    if (e.loss.length !== n) ctx.addIssue({ code: "custom", path: ["loss"], message: `length ${e.loss.length} != tokens ${n}` });
    if (n > 0 && e.loss[0] !== 0) ctx.addIssue({ code: "custom", path: ["loss", 0], message: "the first token of an example cannot carry loss" });
  });
export type ExampleRecord = z.infer<typeof ExampleRecord>;
