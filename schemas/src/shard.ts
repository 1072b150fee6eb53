import { z } from "zod";
import { TaskKind } from "./example.js";
import { StageKind } from "./recipe.js";
import { TokenDtype, VocabLayout } from "./vocab.js";

/**
 * The version writers write; readers and the validator also accept version 1 (no stageKind) and
 * version 2 (no per-segment `task` column).
 */
export const SHARD_FORMAT_VERSION = 3;
/** The first format version whose shards hold the per-segment `task` column. */
export const FIRST_VERSION_WITH_TASKS = 3;

/** Human-readable statements of the fixed rules; stored in every shard so the file explains itself. */
export const LOSS_RULE =
  "loss-on-target/per-segment-weights/v1: token i has loss iff it is predicted from earlier tokens of its own segment " +
  "(never a segment's first token, never padding, never across a boundary); each segment stores w_text = 1/(its text loss tokens) " +
  "and w_vision = 1/(its vision loss tokens), 0 when it has none; batch loss: text = sum(w_text*nll over text targets)/E, " +
  "vision likewise, E = examples (segments) in the global batch; vision-language stages train on 0.5*(text+vision), text stages on text";
export const POSITION_RULE = "restart-per-segment/v1: position_ids restart at 0 at every segment start; padding positions are 0";

const ShardMetadataV1 = z.object({
  formatVersion: z.literal(1),
  stage: z.string(),
  seqLen: z.number().int().positive(),
  vocab: VocabLayout,
  tokenDtype: TokenDtype,
  /** sha256 of the tokenizer.json used. */
  tokenizerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of the VQGAN model used, or null when no vision was encoded. */
  vqganSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  lossRule: z.literal(LOSS_RULE),
  positionRule: z.literal(POSITION_RULE),
  /** Every record batch holds this many rows except possibly the last. */
  rowsPerBatch: z.number().int().positive(),
});

/**
 * Shard-level metadata, stored as JSON under the Arrow schema's custom-metadata key `lwm` (see
 * schemas/FORMAT.md). Version 2 adds `stageKind`, which picks the loss rule's branch (text alone, or
 * 0.5·(text + vision)) from the shards alone; version 3 has the same metadata and adds the `task`
 * column to the rows.
 */
export const ShardMetadata = z.discriminatedUnion("formatVersion", [
  ShardMetadataV1,
  ShardMetadataV1.extend({ formatVersion: z.literal(2), stageKind: StageKind }),
  ShardMetadataV1.extend({ formatVersion: z.literal(3), stageKind: StageKind }),
]);
export type ShardMetadata = z.infer<typeof ShardMetadata>;

/** The stage kind a shard or manifest records; null for version 1, which did not record it. */
export function stageKindOf(meta: { formatVersion: number; stageKind?: z.infer<typeof StageKind> }): z.infer<typeof StageKind> | null {
  return meta.stageKind ?? null;
}

export const ShardEntry = z.object({
  /** File name relative to the manifest's folder. */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  /** rows × seqLen. */
  tokens: z.number().int().nonnegative(),
  /** Non-padding tokens. */
  realTokens: z.number().int().nonnegative(),
  lossTokens: z.number().int().nonnegative(),
  segments: z.number().int().nonnegative(),
});
export type ShardEntry = z.infer<typeof ShardEntry>;

export const MixtureEntry = z.object({
  source: z.string(),
  /** Normalised share asked for in the recipe. */
  asked: z.number().min(0).max(1),
  /** Share of real tokens achieved. */
  achieved: z.number().min(0).max(1),
  tokens: z.number().int().nonnegative(),
  examples: z.number().int().nonnegative(),
});

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const ManifestV1 = z.object({
  formatVersion: z.literal(1),
  stage: z.string(),
  seqLen: z.number().int().positive(),
  shards: z.array(ShardEntry),
  totals: z.object({
    rows: z.number().int().nonnegative(),
    tokens: z.number().int().nonnegative(),
    realTokens: z.number().int().nonnegative(),
    lossTokens: z.number().int().nonnegative(),
    segments: z.number().int().nonnegative(),
    /** realTokens / tokens. */
    fill: z.number().min(0).max(1),
  }),
  mixture: z.array(MixtureEntry),
  /** Input files (path + sha256) everything in this stage was made from. */
  inputs: z.array(z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

/** Segments (examples) per task: keys are the tasks present, each with at least one segment. */
export const TaskCounts = z.partialRecord(TaskKind, z.number().int().positive());
export type TaskCounts = z.infer<typeof TaskCounts>;

const ManifestV2 = ManifestV1.extend({
  formatVersion: z.literal(2),
  stageKind: StageKind,
  /** The recipe as run: its name and the sha256 of its parsed form (defaults filled in, keys sorted). */
  recipe: z.object({ name: z.string(), sha256: Sha256Hex }),
  /** The steps whose outputs made this stage (producers of the examples, then pack), with their versions. */
  steps: z.array(z.object({ name: z.string(), version: z.string() })),
  /** Version of the lwm code that packed the stage. */
  codeVersion: z.string(),
});

/**
 * out/<stage>/manifest.json. Version 2 adds the stage kind and the lineage: recipe, steps, code;
 * version 3 adds `tasks` to the totals, from the shards' `task` column.
 */
export const Manifest = z.discriminatedUnion("formatVersion", [
  ManifestV1,
  ManifestV2,
  ManifestV2.extend({
    formatVersion: z.literal(3),
    totals: ManifestV1.shape.totals.extend({ tasks: TaskCounts }),
  }),
]);
export type Manifest = z.infer<typeof Manifest>;
