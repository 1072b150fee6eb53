import { z } from "zod";
import { LaunchConfig } from "./launch.js";
import { strictObject } from "./strict.js";
import { QaSource } from "./qa.js";
import { ImageTextSource, StageFrames, VideoTextSource, VisionStepConfig } from "./vision.js";
import { RecallSource } from "./recall.js";

export const RECIPE_FORMAT_VERSION = 1;

/** Input formats of the books step. "auto" picks by extension. */
export const BookFormat = z.enum(["auto", "txt", "jsonl", "parquet", "epub"]);

export const BooksSource = strictObject({
  kind: z.literal("books"),
  /** Unique name; stage mixtures refer to it. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  /** Files or directories (directories are walked, sorted). Relative paths resolve against the recipe's folder. */
  paths: z.array(z.string().min(1)).min(1),
  format: BookFormat.default("auto"),
  /** Field names for .jsonl and .parquet inputs. */
  textField: z.string().default("text"),
  idField: z.string().optional(),
  titleField: z.string().optional(),
  languageField: z.string().optional(),
  /** Known language for every document of this source (ISO 639-1), when the files don't say. */
  language: z.string().optional(),
  /** A source of which nothing is accepted fails the books step unless this is true. */
  allowEmpty: z.boolean().default(false),
});
export type BooksSource = z.infer<typeof BooksSource>;

export const Source = z.discriminatedUnion("kind", [BooksSource, QaSource, VideoTextSource, ImageTextSource, RecallSource]);
export type Source = z.infer<typeof Source>;

/** Upper bounds checked at the border, so a typo of a few zeros fails at once, naming the field. */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
export const MAX_UNIT_BYTES = 1024 * 1024 * 1024;
/** 4 Mi tokens: four times LWM's longest context (1M); a row of seqLen tokens is allocated whole. */
export const MAX_SEQ_LEN = 4 * 1024 * 1024;
/** Rows per shard × seqLen stays within this many tokens, so a shard stays well under 2 GiB. */
export const MAX_SHARD_TOKENS = 256 * 1024 * 1024;

export const BooksStepConfig = strictObject({
  /** Strip Project Gutenberg headers, footers and licence. */
  stripGutenberg: z.boolean().default(true),
  /** Drop exact duplicates (by cleaned-content hash) across all inputs. */
  dedup: z.boolean().default(true),
  /** Documents shorter than this many characters after cleaning are rejected. */
  minChars: z.number().int().nonnegative().default(1),
  /** Units of work: approximate bytes of input per tokenize unit. */
  unitBytes: z
    .number()
    .int()
    .positive()
    .max(MAX_UNIT_BYTES)
    .default(8 * 1024 * 1024),
  /**
   * A single document (a .txt file, a record, an EPUB's entries, a Parquet row group) larger than
   * this many bytes is rejected, before it is read or inflated: memory stays bounded by it. At most
   * 256 MiB: a JavaScript string holds at most 2^29 − 24 UTF-16 units.
   */
  maxDocumentBytes: z.number().int().positive().max(MAX_DOCUMENT_BYTES).default(MAX_DOCUMENT_BYTES),
  /** Characters of cleaned text per tokenizer encodeBatch call. */
  tokenizeBatchChars: z
    .number()
    .int()
    .positive()
    .max(MAX_DOCUMENT_BYTES)
    .default(4 * 1024 * 1024),
});
export type BooksStepConfig = z.infer<typeof BooksStepConfig>;

export const PackStepConfig = strictObject({
  /** Rows per Arrow record batch; 0 picks about 1M tokens per batch. */
  rowsPerBatch: z.number().int().nonnegative().max(MAX_SHARD_TOKENS).default(0),
  /** Rows per shard file (shards stay well under 2 GiB). */
  rowsPerShard: z.number().int().positive().max(MAX_SHARD_TOKENS).default(4096),
  seed: z.number().int().default(0),
});
export type PackStepConfig = z.infer<typeof PackStepConfig>;

export const LrSchedule = strictObject({
  peak: z.number().positive(),
  warmupSteps: z.number().int().nonnegative().default(0),
  decay: z.enum(["constant", "cosine"]).default("constant"),
  /** Floor of the cosine decay, as a fraction of the peak. */
  minRatio: z.number().min(0).max(1).default(0.1),
});

export const TrainingConfig = strictObject({
  /** Optimizer steps of this stage; give `steps` or `tokens`. */
  steps: z.number().int().positive().optional(),
  /** Token budget of this stage (converted to steps by tokensPerBatch). */
  tokens: z.number().int().positive().optional(),
  /** Tokens per optimizer step (a multiple of seq_len; gradient accumulation makes up the rest). */
  tokensPerBatch: z.number().int().positive(),
  lr: LrSchedule,
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  weightDecay: z.number().min(0).default(0.1),
  clip: z.number().positive().default(1.0),
  /** Fraction of rows held out for the eval loss. */
  evalFraction: z.number().min(0).lt(1).default(0.05),
  seed: z.number().int().default(0),
  /** AdamW epsilon. */
  eps: z.number().positive().default(1e-8),
  /** Eval loss every this many optimizer steps (0 = only at the end of the stage). */
  evalEvery: z.number().int().nonnegative().default(0),
  /** At most this many held-out rows are scored for the eval loss. */
  evalRows: z.number().int().positive().default(64),
  /** Checkpoint every this many optimizer steps (0 = only at the end of the stage); the end of a stage always checkpoints. */
  checkpointEvery: z.number().int().nonnegative().default(50),
  /** Rows per forward/backward call inside a step (gradient accumulation adds the calls up); bounds activation memory. */
  microBatchRows: z.number().int().positive().default(1),
}).refine((t) => t.steps !== undefined || t.tokens !== undefined, { message: "give steps or tokens", path: ["steps"] });
export type TrainingConfig = z.infer<typeof TrainingConfig>;

/** Folders of the output root that are not stages. */
export const RESERVED_STAGE_NAMES: readonly string[] = ["work", "runs"];

export const StageKind = z.enum(["text", "vision-language"]);
export type StageKind = z.infer<typeof StageKind>;

/**
 * One context length of progressive training. The name is the join key between packing, the
 * shards under out/<name>/ and training.
 */
export const Stage = strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, "stage names are lowercase [a-z0-9_-] (they name folders)")
    .refine((name) => !RESERVED_STAGE_NAMES.includes(name), {
      message: `a stage cannot be named ${RESERVED_STAGE_NAMES.join(" or ")}: out/<stage>/ would collide with the pipeline's out/work/ or the trainer's out/runs/`,
    }),
  kind: StageKind.default("text"),
  seqLen: z.number().int().min(16).max(MAX_SEQ_LEN),
  ropeTheta: z.number().positive(),
  /** Source name → share of this stage's tokens. Shares are normalised. */
  mixture: z.record(z.string(), z.number().positive()).refine((m) => Object.keys(m).length > 0, { message: "a stage's mixture names at least one source" }),
  /** A stage that receives no example fails the books step unless this is true. */
  allowEmpty: z.boolean().default(false),
  /** Documents whose token count lies outside [minTokens, maxTokens] are not used in this stage (lwm-spec §5.1). */
  minTokens: z.number().int().nonnegative().default(0),
  maxTokens: z.number().int().positive().optional(),
  /** Stop packing after this many tokens (rows × seqLen); unset = everything available. */
  budgetTokens: z.number().int().positive().optional(),
  /** Frames per clip of the vision sources (vision-language stages; default 4 fps, up to 30 frames). */
  frames: StageFrames.optional(),
  training: TrainingConfig.optional(),
}).refine((s) => s.maxTokens === undefined || s.maxTokens >= s.minTokens, {
  message: "maxTokens must be >= minTokens",
  path: ["maxTokens"],
});
export type Stage = z.infer<typeof Stage>;

export const ModelConfig = strictObject({
  dim: z.number().int().positive(),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  ffnDim: z.number().int().positive(),
  normEps: z.number().positive().default(1e-6),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

export const Recipe = strictObject({
  /** The JSON Schema the file follows (schemas/json/), for editors; not read otherwise. */
  $schema: z.string().optional(),
  formatVersion: z.literal(RECIPE_FORMAT_VERSION),
  name: z.string().min(1),
  /** A tokenizer.json; default: the bundled Llama-2 tokenizer. */
  tokenizer: z.string().optional(),
  /** The VQ model folder (lwm vqgan build|fit) that encodes the vision sources; relative to the recipe. */
  vqgan: z.string().min(1).optional(),
  sources: z.array(Source).min(1),
  steps: strictObject({
    books: BooksStepConfig.default(BooksStepConfig.parse({})),
    pack: PackStepConfig.default(PackStepConfig.parse({})),
    vision: VisionStepConfig.default(VisionStepConfig.parse({})),
  }).default({ books: BooksStepConfig.parse({}), pack: PackStepConfig.parse({}), vision: VisionStepConfig.parse({}) }),
  stages: z.array(Stage).min(1),
  model: ModelConfig.optional(),
  /** Defaults for `lwm launch` (slices, parallelism, sbatch and Kubernetes settings). */
  launch: LaunchConfig.optional(),
}).superRefine((r, ctx) => {
  const names = new Set<string>();
  r.sources.forEach((s, i) => {
    if (names.has(s.name)) ctx.addIssue({ code: "custom", path: ["sources", i, "name"], message: `duplicate source name "${s.name}"` });
    names.add(s.name);
  });
  r.sources.forEach((s, i) => {
    if (s.kind !== "qa" && s.kind !== "recall") return;
    s.from.forEach((name, k) => {
      if (!r.sources.some((b) => b.kind === "books" && b.name === name))
        ctx.addIssue({ code: "custom", path: ["sources", i, "from", k], message: `"${name}" is not a books source of this recipe` });
    });
  });
  const visionAt = r.sources.findIndex((s) => s.kind === "video-text" || s.kind === "image-text");
  if (visionAt >= 0 && r.vqgan === undefined)
    ctx.addIssue({ code: "custom", path: ["vqgan"], message: `sources[${visionAt}] is a vision source: give the VQ model folder that encodes it` });
  const stageNames = new Set<string>();
  r.stages.forEach((st, i) => {
    if (stageNames.has(st.name)) ctx.addIssue({ code: "custom", path: ["stages", i, "name"], message: `duplicate stage name "${st.name}"` });
    stageNames.add(st.name);
    for (const src of Object.keys(st.mixture)) {
      if (!names.has(src)) ctx.addIssue({ code: "custom", path: ["stages", i, "mixture", src], message: `unknown source "${src}"` });
      const source = r.sources.find((s) => s.name === src);
      if (st.kind === "text" && (source?.kind === "video-text" || source?.kind === "image-text"))
        ctx.addIssue({
          code: "custom",
          path: ["stages", i, "mixture", src],
          message: `"${src}" is a vision source: a text stage cannot mix it in (kind "vision-language")`,
        });
    }
  });
});
export type Recipe = z.infer<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;
