import type { Manifest } from "@lwm/schemas";
import { shardMetadata, writeStage, type PackedRow, type ShardMetadataFields } from "@lwm/shards";

/**
 * A current-format stage of `rows` in `dir` (shards + manifest.json), written through the writers
 * pack uses (shardMetadata, writeStage), with a stand-in lineage: no recipe or step made it.
 */
export function writeTestStage(dir: string, fields: ShardMetadataFields, rows: Iterable<PackedRow>): Promise<Manifest> {
  const lineage = { recipe: { name: "cli-test", sha256: "0".repeat(64) }, steps: [], codeVersion: "test" };
  return writeStage(dir, shardMetadata(fields), rows, { sources: () => ({ mixture: [], inputs: [], lineage }) });
}
