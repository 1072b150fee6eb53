import type { Provenance, ShardMetadata } from "@lwm/schemas";
import type { ShardBatch } from "../batch.js";
import { bitAt } from "../bits.js";
import { parseProvenance, ShardReader, taskOf, utf8At } from "../reader.js";
import type { RunShape } from "../tasks.js";
import { VisionTally, type VisionSummary } from "./vision-summary.js";

/** Where a segment's example came from, as one line: the source file, the book of a QA chat example, or the generator. */
export function sourceOf(p: Provenance): string {
  switch (p.kind) {
    case "qa":
      return `qa-chat:${p.book ?? p.document}`;
    case "recall":
      return `recall:${p.document}`;
    case "synthetic":
      return `synthetic:${p.generator}`;
    default:
      return p.file;
  }
}

export interface SourceCount {
  source: string;
  segments: number;
  tokens: number;
}

export interface ShardSummary {
  shards: { file: string; rows: number; batches: number; bytes: number }[];
  /** Metadata of the first shard (all shards of a stage share it). */
  meta: ShardMetadata | null;
  rows: number;
  tokens: number;
  realTokens: number;
  /** realTokens / tokens. */
  fill: number;
  lossTokens: number;
  /** lossTokens / realTokens. */
  lossShare: number;
  textTokens: number;
  visionTokens: number;
  textLossTokens: number;
  visionLossTokens: number;
  segments: number;
  segmentsPerRow: { min: number; mean: number; max: number };
  /** Segment lengths in log2 buckets: bucket k counts lengths in [2^k, 2^(k+1)). */
  segmentLengths: { from: number; to: number; count: number }[];
  /** Segments and tokens per source, most tokens first. */
  sources: SourceCount[];
  /** Clips, frames and tasks (recorded per segment from format 3, read off the layout before). */
  vision: VisionSummary;
  bytes: number;
}

/** Reads every row of the shards and summarises what they hold (see ShardSummary). */
export async function summarizeShards(paths: readonly string[]): Promise<ShardSummary> {
  const s: ShardSummary = {
    shards: [],
    meta: null,
    rows: 0,
    tokens: 0,
    realTokens: 0,
    fill: 0,
    lossTokens: 0,
    lossShare: 0,
    textTokens: 0,
    visionTokens: 0,
    textLossTokens: 0,
    visionLossTokens: 0,
    segments: 0,
    segmentsPerRow: { min: Infinity, mean: 0, max: 0 },
    segmentLengths: [],
    sources: [],
    vision: new VisionTally().summary(),
    bytes: 0,
  };
  const buckets: number[] = [];
  const vision = new VisionTally();
  const sources = new Map<string, SourceCount>();
  for (const path of paths) {
    const reader = await ShardReader.open(path);
    try {
      s.meta ??= reader.meta;
      s.shards.push({ file: reader.name, rows: reader.numRows, batches: reader.numBatches, bytes: reader.layout.fileBytes });
      s.bytes += reader.layout.fileBytes;
      let firstRow = 0;
      for await (const batch of reader.batches()) {
        summarizeBatch(batch, s, buckets, sources, vision, reader.name, firstRow);
        firstRow += batch.numRows;
      }
    } finally {
      await reader.close();
    }
  }
  s.fill = s.tokens === 0 ? 0 : s.realTokens / s.tokens;
  s.lossShare = s.realTokens === 0 ? 0 : s.lossTokens / s.realTokens;
  s.segmentsPerRow.mean = s.rows === 0 ? 0 : s.segments / s.rows;
  if (s.rows === 0) s.segmentsPerRow.min = 0;
  s.segmentLengths = buckets.map((count, k) => ({ from: 2 ** k, to: 2 ** (k + 1), count: count ?? 0 }));
  s.vision = vision.summary();
  s.sources = [...sources.values()].sort((a, b) => b.tokens - a.tokens || a.source.localeCompare(b.source));
  return s;
}

function summarizeBatch(
  b: ShardBatch,
  s: ShardSummary,
  buckets: number[],
  sources: Map<string, SourceCount>,
  vision: VisionTally,
  shard: string,
  firstRow: number,
): void {
  const { seqLen } = b;
  const delimiters = s.meta ? [s.meta.vocab.eofId, s.meta.vocab.eovId] : [];
  for (let r = 0; r < b.numRows; r++) {
    const c0 = b.cuOffsets[r]!;
    const nseg = b.cuOffsets[r + 1]! - c0 - 1;
    s.rows++;
    s.tokens += seqLen;
    s.segments += nseg;
    s.segmentsPerRow.min = Math.min(s.segmentsPerRow.min, nseg);
    s.segmentsPerRow.max = Math.max(s.segmentsPerRow.max, nseg);
    const base = r * seqLen;
    for (let k = 0; k < nseg; k++) {
      const start = b.cuValues[c0 + k]!;
      const end = b.cuValues[c0 + k + 1]!;
      const len = end - start;
      s.realTokens += len;
      const bucket = Math.floor(Math.log2(Math.max(1, len)));
      for (let j = buckets.length; j <= bucket; j++) buckets.push(0);
      buckets[bucket]!++;
      const runs: RunShape[] = [];
      let inRun = false;
      for (let i = start; i < end; i++) {
        const v = bitAt(b.visionBits, b.visionBitOffset + base + i);
        const l = bitAt(b.lossBits, b.lossBitOffset + base + i);
        if (v && !inRun) runs.push({ frames: 0, loss: false });
        inRun = v === 1;
        if (v) {
          const run = runs[runs.length - 1]!;
          if (delimiters.includes(b.tokens[base + i]!)) run.frames++;
          if (l) run.loss = true;
          s.visionTokens++;
          s.visionLossTokens += l;
        } else {
          s.textTokens++;
          s.textLossTokens += l;
        }
      }
      const task = b.tasks && taskOf(utf8At(b.tasks, b.tasks.offsets[r]! + k), shard, firstRow + r, k);
      vision.addSegment(runs, len, task);
      const p = parseProvenance(utf8At(b.provenance, b.provenance.offsets[r]! + k), shard, firstRow + r, k);
      const key = sourceOf(p);
      const entry = sources.get(key) ?? { source: key, segments: 0, tokens: 0 };
      entry.segments++;
      entry.tokens += len;
      sources.set(key, entry);
    }
  }
  s.lossTokens = s.textLossTokens + s.visionLossTokens;
}
