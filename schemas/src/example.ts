import { z } from "zod";
import { Provenance } from "./provenance.js";
import { TokenDtype } from "./vocab.js";

/** LWM task layouts (lwm-spec §4). */
export const TaskKind = z.enum(["text", "image-text", "text-image", "video-text", "text-video", "vision-chat", "text-chat", "qa-chat"]);
export type TaskKind = z.infer<typeof TaskKind>;

// Typed arrays over any buffer (views of a file's bytes included), not only fresh ArrayBuffers.
const TokenArray = z.custom<Uint16Array | Uint32Array>((v) => v instanceof Uint16Array || v instanceof Uint32Array, "expected a Uint16Array or Uint32Array");
const Flags = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected a Uint8Array of 0|1");
const Offsets = z.custom<Int32Array>((v) => v instanceof Int32Array, "expected an Int32Array");
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase hex sha256");
const Id32 = z.string().regex(/^[0-9a-f]{32}$/, "expected 32 lowercase hex digits");

const exampleFields = {
  /** Deterministic, content-derived: see `exampleIdOf` in @lwm/core. */
  exampleId: Id32,
  task: TaskKind,
  tokens: TokenArray,
  /** 1 where the token indexes the vision table. */
  vision: Flags,
  /** 1 where the token is a loss target. */
  loss: Flags,
  provenance: Provenance,
};

function checkFlags(e: { tokens: ArrayLike<number>; vision: Uint8Array; loss: Uint8Array }, ctx: z.RefinementCtx): void {
  const n = e.tokens.length;
  if (n === 0) ctx.addIssue({ code: "custom", path: ["tokens"], message: "an example needs at least one token" });
  if (e.vision.length !== n) ctx.addIssue({ code: "custom", path: ["vision"], message: `length ${e.vision.length} != tokens ${n}` });
  if (e.loss.length !== n) ctx.addIssue({ code: "custom", path: ["loss"], message: `length ${e.loss.length} != tokens ${n}` });
  if (n > 0 && e.loss[0] !== 0) ctx.addIssue({ code: "custom", path: ["loss", 0], message: "the first token of an example cannot carry loss" });
}

/**
 * One training example in LWM layout: tokens plus a vision flag (which table) and a loss flag
 * (token i is a target predicted from tokens < i of this example) per token. `loss[0]` is always 0.
 */
export const ExampleRecord = z.object(exampleFields).superRefine(checkFlags);
export type ExampleRecord = z.infer<typeof ExampleRecord>;

/**
 * An example as a producing step stores it (one row of an examples file, schemas/EXAMPLES.md): the
 * example plus the recipe source it belongs to and, when it was cut from a document, that
 * document's id (the `documentId` of the producer's documents output).
 */
export const SourcedExample = z
  .object({
    ...exampleFields,
    /** Recipe source name; stage mixtures select examples by it. */
    source: z.string().min(1),
    documentId: Id32.nullable(),
  })
  .superRefine(checkFlags);
export type SourcedExample = z.infer<typeof SourcedExample>;

export const EXAMPLES_FORMAT = "lwm.examples/1";
export const DOCUMENTS_FORMAT = "lwm.documents/1";
/** Name of the index file in an examples or documents folder. */
export const INDEX_FILE = "index.json";

/** A data file of an examples or documents folder: part-00000.arrow, part-00001.arrow … */
const PartFile = z.string().regex(/^part-\d{5}\.arrow$/, "expected part-NNNNN.arrow");

export const ExamplesPart = z.object({
  file: PartFile,
  /** The one recipe source every example of this file belongs to. */
  source: z.string().min(1),
  examples: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  lossTokens: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: Sha256Hex,
});
export type ExamplesPart = z.infer<typeof ExamplesPart>;

/**
 * work/<step>/examples/<stage>/index.json: what one producing step made for one training stage.
 * Pack reads the examples of a stage's mixture sources through it, whichever step produced them.
 */
export const ExamplesIndex = z
  .object({
    format: z.literal(EXAMPLES_FORMAT),
    /** The producing step (folder name under work/) and its version. */
    step: z.string().min(1),
    stepVersion: z.string().min(1),
    stage: z.string().min(1),
    /** No example is longer than this (the stage's seqLen). */
    seqLen: z.number().int().positive(),
    tokenDtype: TokenDtype,
    tokenizerSha256: Sha256Hex,
    /** The VQGAN that encoded vision tokens, null when none did. */
    vqganSha256: Sha256Hex.nullable(),
    /** Recipe sources this step produced for the stage (a source may have no examples, e.g. all filtered out). */
    sources: z.array(z.string().min(1)),
    examples: z.number().int().nonnegative(),
    tokens: z.number().int().nonnegative(),
    /** Files in reading order. */
    parts: z.array(ExamplesPart),
  })
  .superRefine((index, ctx) => {
    index.parts.forEach((p, i) => {
      if (!index.sources.includes(p.source)) ctx.addIssue({ code: "custom", path: ["parts", i, "source"], message: `source "${p.source}" is not in sources` });
    });
    const examples = index.parts.reduce((s, p) => s + p.examples, 0);
    const tokens = index.parts.reduce((s, p) => s + p.tokens, 0);
    if (examples !== index.examples) ctx.addIssue({ code: "custom", path: ["examples"], message: `${index.examples} != sum of parts ${examples}` });
    if (tokens !== index.tokens) ctx.addIssue({ code: "custom", path: ["tokens"], message: `${index.tokens} != sum of parts ${tokens}` });
  });
export type ExamplesIndex = z.infer<typeof ExamplesIndex>;

/**
 * One cleaned document as a producing step publishes it (work/<step>/documents/): its text, the
 * token ids of that text (no BOS/EOS) and, per token, the UTF-8 byte range [start, end) of the text
 * it came from (as the tokenizer reports it; byte-fallback pieces of one character share a range).
 */
export const DocumentRecord = z
  .object({
    documentId: Id32,
    title: z.string().nullable(),
    language: z.string().nullable(),
    /** The cleaned text the tokens were made from. */
    text: z.string(),
    tokens: TokenArray,
    tokenStarts: Offsets,
    tokenEnds: Offsets,
    /** Where the text came from (the raw input's bytes); without a token range. */
    provenance: Provenance,
  })
  .superRefine((d, ctx) => {
    const n = d.tokens.length;
    if (d.tokenStarts.length !== n) ctx.addIssue({ code: "custom", path: ["tokenStarts"], message: `length ${d.tokenStarts.length} != tokens ${n}` });
    if (d.tokenEnds.length !== n) ctx.addIssue({ code: "custom", path: ["tokenEnds"], message: `length ${d.tokenEnds.length} != tokens ${n}` });
  });
export type DocumentRecord = z.infer<typeof DocumentRecord>;

export const DocumentsPart = z.object({
  file: PartFile,
  /** Recipe sources whose inputs hold this file's documents (a file listed by two sources belongs to both). */
  sources: z.array(z.string().min(1)).min(1),
  documents: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: Sha256Hex,
});
export type DocumentsPart = z.infer<typeof DocumentsPart>;

/** work/<step>/documents/index.json */
export const DocumentsIndex = z.object({
  format: z.literal(DOCUMENTS_FORMAT),
  step: z.string().min(1),
  stepVersion: z.string().min(1),
  tokenDtype: TokenDtype,
  tokenizerSha256: Sha256Hex,
  documents: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  parts: z.array(DocumentsPart),
});
export type DocumentsIndex = z.infer<typeof DocumentsIndex>;
