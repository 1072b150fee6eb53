/**
 * Stable validator rule ids and what each one proves. Documented in schemas/FORMAT.md
 * ("Validator rules"); error output and tests refer to these ids, so never rename one.
 */
export const RULES = {
  "io.read": "the shard or manifest file can be opened and read",
  "io.truncated": "the file holds complete messages and ends with the end-of-stream marker",
  "arrow.stream": "the file is an Arrow IPC stream: a Schema message, then uncompressed record batches, then EOS, nothing after",
  "arrow.schema": "the columns, their order and types match FORMAT.md for the metadata's seqLen and tokenDtype",
  "arrow.batch": "each batch holds rowsPerBatch rows (the last 1..rowsPerBatch), no nulls, buffers and list offsets consistent",
  "meta.schema": 'the schema metadata "lwm" is JSON that matches ShardMetadata',
  "manifest.schema": "manifest.json is JSON that matches Manifest",
  "manifest.files": "every shard the manifest lists exists once, and every .arrow file beside it is listed",
  "manifest.sha256": "a shard's sha256 equals its manifest entry",
  "manifest.counts": "a shard's bytes, rows, tokens, realTokens, lossTokens and segments equal its manifest entry",
  "manifest.totals":
    "the manifest totals are the sums of its shard entries (fill = realTokens / tokens); from format 3, its task counts are the shards' task column's",
  "manifest.meta": "each shard's stage, stageKind and seqLen equal the manifest's",
  "stage.kind": 'a shard of a "text" stage (stageKind, format version 2) holds no vision tokens',
  "segment.layout": "cu_seqlens starts at 0, strictly increases, ends at most at seqLen; per-segment columns hold one entry per segment",
  "segment.example-id": "each segment's example id is 32 lowercase hex digits",
  "segment.provenance": "each segment's provenance is JSON that matches Provenance",
  "segment.task":
    "(format 3) each segment's task is a known task whose layout the segment has: text tasks hold no vision tokens; image/video tasks one vision block (an image 1 frame), with loss on it for text→vision and none for vision→text",
  "token.range": "text ids (vision 0) are below textVocabSize, vision ids (vision 1) below visionVocabSize",
  "pad.tail": "tokens past the last segment are padId with vision 0, and padId never appears as a text token inside a segment",
  "loss.first-token": "no segment's first token carries loss (so no target crosses a segment boundary)",
  "loss.padding": "no padding token carries loss",
  "vision.layout": "each vision run is k frames of tokensPerFrame codes (< visionCodes) each followed by <eof>, the last by <eov>",
  "weight.value": "stored per-segment weights equal 1/(the segment's loss tokens of that modality), relative error ≤ 1e-6, 0 when none",
} as const;

export type RuleId = keyof typeof RULES;

export const RULE_IDS = Object.keys(RULES) as RuleId[];
