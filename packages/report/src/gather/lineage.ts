/**
 * Lineage of a few sampled rows per stage: every segment's source (file and byte range, media
 * frames, QA chunk ids — whatever its provenance records) beside its decoded text.
 */
import { join } from "node:path";
import type { Provenance } from "@lwm/schemas";
import { describeProvenance, rowSegments, segmentText, shardPaths, ShardReader, type TokenDecoder } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import type { StageData } from "./stages.js";

/** Segments shown per row, and characters of text per segment (head and tail kept). */
export const LINEAGE_SEGMENTS = 12;
export const LINEAGE_CHARS = 600;

export interface LineageSegment {
  index: number;
  start: number;
  end: number;
  textTokens: number;
  visionTokens: number;
  lossTokens: number;
  exampleId: string;
  provenance: Provenance;
  /** describeProvenance(provenance). */
  source: string;
  /** Decoded text («…» marks loss targets), cut to LINEAGE_CHARS. */
  text: string;
}

export interface LineageRow {
  stage: string;
  /** Row index across the stage's shards, and where it lives. */
  row: number;
  shard: string;
  shardRow: number;
  seqLen: number;
  realTokens: number;
  segments: LineageSegment[];
  segmentsLeftOut: number;
}

export interface LineageData {
  rows: LineageRow[];
  /** How text was decoded, or why it shows token ids. */
  decoding: string;
}

/** `n` row indices spread over [0, rows): first, last and evenly between. */
export function sampleRowIndices(rows: number, n: number): number[] {
  if (rows <= 0 || n <= 0) return [];
  if (n === 1 || rows === 1) return [0];
  return [...new Set(Array.from({ length: Math.min(n, rows) }, (_, k) => Math.round((k * (rows - 1)) / (Math.min(n, rows) - 1))))];
}

export function cutText(text: string, max = LINEAGE_CHARS): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  return `${text.slice(0, head)} … [${text.length - max} chars left out] … ${text.slice(text.length - (max - head))}`;
}

async function openDecoder(): Promise<{ decoder: TokenDecoder; sha256: string } | { decoder: null; why: string }> {
  try {
    const t = await loadTokenizer();
    return { decoder: t, sha256: t.sha256 };
  } catch (err) {
    return { decoder: null, why: (err as Error).message };
  }
}

export async function gatherLineage(outDir: string, stages: readonly StageData[], perStage: number): Promise<LineageData> {
  const tokenizer = await openDecoder();
  const notes = new Set<string>();
  const rows: LineageRow[] = [];
  for (const stage of stages) {
    if (!stage.summary || stage.summary.rows === 0) continue;
    const paths = await shardPaths(join(outDir, stage.name));
    const wanted = sampleRowIndices(stage.summary.rows, perStage);
    let first = 0;
    for (const path of paths) {
      const reader = await ShardReader.open(path);
      try {
        for (const n of wanted.filter((w) => w >= first && w < first + reader.numRows)) {
          const row = await reader.row(n - first);
          const { vocab, seqLen, tokenizerSha256 } = reader.meta;
          let decoder: TokenDecoder | null = null;
          if (tokenizer.decoder === null) notes.add(`token ids shown: no tokenizer (${tokenizer.why})`);
          else if (tokenizer.sha256 !== tokenizerSha256)
            notes.add(`token ids shown for stage ${stage.name}: it was made with tokenizer ${tokenizerSha256.slice(0, 12)}…, not the bundled one`);
          else decoder = tokenizer.decoder;
          const segments = rowSegments(row, vocab);
          const shown = segments.slice(0, LINEAGE_SEGMENTS);
          rows.push({
            stage: stage.name,
            row: n,
            shard: reader.name,
            shardRow: n - first,
            seqLen,
            realTokens: row.cuSeqlens[row.cuSeqlens.length - 1]!,
            segments: await Promise.all(
              shown.map(async (s) => ({
                index: s.index,
                start: s.start,
                end: s.end,
                textTokens: s.textTokens,
                visionTokens: s.visionTokens,
                lossTokens: s.textLossTokens + s.visionLossTokens,
                exampleId: s.exampleId,
                provenance: s.provenance,
                source: describeProvenance(s.provenance),
                text: cutText(await segmentText(row, s, decoder, vocab)),
              })),
            ),
            segmentsLeftOut: segments.length - shown.length,
          });
        }
      } finally {
        await reader.close();
      }
      first += reader.numRows;
    }
  }
  const decoding = notes.size > 0 ? [...notes].join("; ") : "text decoded with the bundled Llama-2 tokenizer (the one the shards name)";
  return { rows, decoding };
}
