export { assembleRow, type PackedRow, type TrainRow } from "./row.js";
export {
  IGNORE_INDEX,
  segmentLayoutProblem,
  misplacedLoss,
  segmentWeight,
  weightMatches,
  segmentIds,
  positionIds,
  labels,
  nextTokenTargets,
  lossWeights,
  cuSeqlens,
} from "./row-views.js";
export { ShardWriter, defaultRowsPerBatch, defaultMaxRows, MAX_SHARD_BYTES, type ShardWriterOptions } from "./writer.js";
export { ShardReader, rowOf, taskOf, type ShardReaderOptions } from "./reader.js";
export type { ShardBatch, Utf8ListColumn } from "./batch.js";
export type { BatchBlock, StreamLayout } from "./ipc.js";
export { bufferCount, BUFFER_INDEX, COLUMNS, columnsOf, hasTaskColumn, METADATA_KEY, shardSchema, type ColumnName } from "./columns.js";
export { ShardError } from "./errors.js";
export { packBitsInto, unpackBits } from "./bits.js";
export { shardMetadata, formatOneShardMetadata, type ShardMetadataFields } from "./metadata.js";
export { writeStage, shardFileName, type StageLineage, type StageSources, type WriteStageOptions } from "./stage-writer.js";
export { MANIFEST_FILE, manifestTotals, readManifest, stageManifestsIn, writeManifest } from "./manifest.js";
export {
  validate,
  ValidateTargetError,
  RULES,
  RULE_IDS,
  checkBatch,
  type ValidateOptions,
  type RuleId,
  type ValidationError,
  type ValidationReport,
  type BatchStats,
} from "./validate/index.js";
export { shardGroups, shardPaths, type ShardGroup } from "./inspect/targets.js";
export { summarizeShards, sourceOf, type ShardSummary, type SourceCount } from "./inspect/summary.js";
export { VisionTally, type VisionSummary } from "./inspect/vision-summary.js";
export { taskOfLayout, taskLayoutProblem, type LayoutTask, type RunShape } from "./tasks.js";
export { rowSegments, type SegmentDetail, type Span, type VisionBlock } from "./inspect/row-detail.js";
export { describeProvenance, segmentText, type TokenDecoder } from "./inspect/segment-text.js";
export * from "./examples/index.js";
