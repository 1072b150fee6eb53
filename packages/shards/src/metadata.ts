import { LOSS_RULE, POSITION_RULE, SHARD_FORMAT_VERSION, tokenDtypeFor, type ShardMetadata, type StageKind, type VocabLayout } from "@lwm/schemas";

/** What differs between stages; the rest of a shard's metadata follows from it. */
export interface ShardMetadataFields {
  stage: string;
  stageKind: StageKind;
  seqLen: number;
  vocab: VocabLayout;
  tokenizerSha256: string;
  vqganSha256: string | null;
  rowsPerBatch: number;
}

/** The metadata every writer of the current format version writes: token dtype from the vocabulary, the fixed rules. */
export function shardMetadata(fields: ShardMetadataFields): ShardMetadata {
  return {
    formatVersion: SHARD_FORMAT_VERSION,
    ...fields,
    tokenDtype: tokenDtypeFor(fields.vocab),
    lossRule: LOSS_RULE,
    positionRule: POSITION_RULE,
  };
}

/**
 * Format 1 metadata (no stageKind), for writers that must reproduce shards made before format 2
 * byte for byte (the trainer's synthetic stages, whose hashes seed the held-out split and shuffle).
 */
export function formatOneShardMetadata(fields: Omit<ShardMetadataFields, "stageKind">): ShardMetadata {
  return { formatVersion: 1, ...fields, tokenDtype: tokenDtypeFor(fields.vocab), lossRule: LOSS_RULE, positionRule: POSITION_RULE };
}
