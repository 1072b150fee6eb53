import { join } from "node:path";
import type { Manifest, ShardEntry, ShardMetadata, TaskCounts } from "@lwm/schemas";
import { manifestTotals, writeManifest } from "./manifest.js";
import type { PackedRow } from "./row.js";
import { countTask, sumTaskCounts } from "./tasks.js";
import { ShardWriter } from "./writer.js";

/** The lineage a current-format manifest records: the recipe as run, the steps that made the stage, the code version. */
export type StageLineage = Pick<Extract<Manifest, { formatVersion: 3 }>, "recipe" | "steps" | "codeVersion">;

/** What only the stage's producer knows, told once its rows are written: where they came from. */
export interface StageSources {
  mixture: Manifest["mixture"];
  inputs: Manifest["inputs"];
  /** Required by the current format; absent only for format 1 metadata. */
  lineage?: StageLineage;
}

export interface WriteStageOptions {
  /** Rows per shard before the next shard starts (default: ShardWriter's size-based maximum). */
  rowsPerShard?: number;
  /** The manifest's mixture, inputs and lineage, asked for after the last row (so a streaming producer can count). */
  sources: (totals: Manifest["totals"]) => StageSources;
}

/** Shard file name of the index-th shard of a stage: shard-00000.arrow, … */
export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, "0")}.arrow`;
}

/**
 * Writes one stage into `dir`: the rows, in order, into shards of `rowsPerShard` rows
 * (shard-00000.arrow, …), then its manifest.json. Each shard appears only complete (ShardWriter's
 * temp file + rename) and the manifest last, so a folder with a manifest holds the whole stage.
 */
export async function writeStage(
  dir: string,
  meta: ShardMetadata,
  rows: AsyncIterable<PackedRow> | Iterable<PackedRow>,
  options: WriteStageOptions,
): Promise<Manifest> {
  const shards: ShardEntry[] = [];
  const tasks: TaskCounts = {};
  let writer: ShardWriter | undefined;
  try {
    for await (const row of rows) {
      writer ??= await ShardWriter.create(join(dir, shardFileName(shards.length)), meta, { maxRows: options.rowsPerShard });
      await writer.append(row);
      for (const task of row.tasks ?? []) countTask(tasks, task);
      if (writer.full) {
        shards.push(await writer.close());
        writer = undefined;
      }
    }
    if (writer) shards.push(await writer.close());
  } catch (err) {
    await writer?.abort();
    throw err;
  }
  const totals = manifestTotals(shards);
  const { mixture, inputs, lineage } = options.sources(totals);
  const common = { stage: meta.stage, seqLen: meta.seqLen, shards, totals, mixture, inputs };
  let manifest: Manifest;
  if (meta.formatVersion === 1) manifest = { formatVersion: 1, ...common };
  else if (!lineage)
    throw new Error(`writeStage(${dir}): a format ${meta.formatVersion} manifest records its lineage (recipe, steps, codeVersion); none was given`);
  else if (meta.formatVersion === 2) manifest = { formatVersion: 2, stageKind: meta.stageKind, ...lineage, ...common };
  else manifest = { formatVersion: 3, stageKind: meta.stageKind, ...lineage, ...common, totals: { ...totals, tasks: sumTaskCounts(tasks) } };
  await writeManifest(dir, manifest);
  return manifest;
}
