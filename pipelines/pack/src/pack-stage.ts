import type { ExampleRecord, Manifest, Stage } from "@lwm/schemas";
import { mixByTokenShare, packSequences, type MixStats } from "@lwm/packing";
import { assembleRow, shardMetadata, writeStage, type StageLineage } from "@lwm/shards";
import type { MultimodalLayout } from "@lwm/tokenizer";

export interface PackStageOptions {
  stage: Stage;
  /** Examples of each source named in the stage's mixture, in a deterministic order. */
  sources: ReadonlyMap<string, AsyncIterable<ExampleRecord>>;
  layout: MultimodalLayout;
  tokenizerSha256: string;
  vqganSha256: string | null;
  rowsPerBatch: number;
  rowsPerShard: number;
  /** Folder the shards and manifest.json are written into. */
  dir: string;
  /** Rows are packed with this many open rows (fill vs memory). */
  openRows?: number;
  /** What made the stage, for its manifest. */
  lineage: StageLineage;
}

/**
 * Packs one stage: mixes the sources by token share (up to the stage's budget), packs the examples
 * into rows of exactly seqLen tokens (best fit), writes shards of `rowsPerShard` rows and the
 * stage's manifest.json. Examples longer than seqLen are an upstream bug and fail loudly.
 */
export async function packStage(options: PackStageOptions): Promise<Manifest> {
  const { stage, layout, dir } = options;
  const meta = shardMetadata({
    stage: stage.name,
    stageKind: stage.kind,
    seqLen: stage.seqLen,
    vocab: layout.layout,
    tokenizerSha256: options.tokenizerSha256,
    vqganSha256: options.vqganSha256,
    rowsPerBatch: options.rowsPerBatch,
  });
  if (meta.tokenDtype !== layout.tokenDtype)
    throw new Error(`stage ${stage.name}: token dtype ${layout.tokenDtype} does not fit the vocabulary layout (${meta.tokenDtype})`);

  const mixStats: MixStats[] = [];
  const mixed = mixByTokenShare(
    Object.entries(stage.mixture).map(([name, share]) => {
      const items = options.sources.get(name);
      if (!items) throw new Error(`stage ${stage.name}: no examples for source "${name}"`);
      return { name, share, items };
    }),
    (e) => e.tokens.length,
    { budgetTokens: stage.budgetTokens, stats: mixStats },
  );

  const inputs = new Map<string, string>();
  async function* items() {
    for await (const { source, value } of mixed) {
      if (value.tokens.length > stage.seqLen) {
        throw new RangeError(
          `stage ${stage.name}: example ${value.exampleId} of source "${source}" has ${value.tokens.length} tokens, more than seqLen ${stage.seqLen} (the examples step must window long documents)`,
        );
      }
      const p = value.provenance;
      if ("file" in p) inputs.set(p.file, p.fileSha256);
      yield { length: value.tokens.length, value };
    }
  }

  async function* rows() {
    for await (const bin of packSequences(items(), { seqLen: stage.seqLen, openRows: options.openRows }))
      yield assembleRow(stage.seqLen, layout.layout, bin.items);
  }
  return writeStage(dir, meta, rows(), {
    rowsPerShard: options.rowsPerShard,
    sources: () => {
      const totalMixed = mixStats.reduce((s, m) => s + m.tokens, 0);
      return {
        mixture: mixStats.map((m) => ({
          source: m.source,
          asked: m.asked,
          achieved: totalMixed === 0 ? 0 : m.tokens / totalMixed,
          tokens: m.tokens,
          examples: m.items,
        })),
        inputs: [...inputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, sha256]) => ({ file, sha256 })),
        lineage: options.lineage,
      };
    },
  });
}
