/**
 * Writes a synthetic packed stage (out/<stage>/ shards + manifest.json) with @lwm/shards' stage
 * writer, for tests and benchmarks of the training loop. The corpus is learnable: after BOS each example counts upward by a per-example stride
 * through the ids [FIRST_ID, textVocabSize), so every token but the second is determined by the two
 * before it, and a tiny model's loss must fall when it trains.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ExampleRecord, Manifest, StageKind, VocabLayout } from "@lwm/schemas";
import { assembleRow, formatOneShardMetadata, shardMetadata, writeStage, type PackedRow } from "@lwm/shards";
import { uniformSampler } from "../model/rng.js";

export const TINY_VOCAB: VocabLayout = {
  textVocabSize: 48,
  visionVocabSize: 0,
  visionCodes: 0,
  eofId: 0,
  eovId: 0,
  bosId: 1,
  eosId: 2,
  padId: 0,
  tokensPerFrame: 1,
};

/** A small vision table for vision-language tests: 16 codes, <eof> 16, <eov> 17. */
export const TINY_VL_VOCAB: VocabLayout = { ...TINY_VOCAB, visionVocabSize: 20, visionCodes: 16, eofId: 16, eovId: 17, tokensPerFrame: 4 };

const FIRST_ID = 3;

export interface SyntheticStageOptions {
  stage: string;
  seqLen: number;
  rows: number;
  seed?: number;
  /** Rows are spread over this many shards (ceil(rows/shards) each, the last takes the rest). */
  shards?: number;
  rowsPerBatch?: number;
  vocab?: VocabLayout;
  /** Give every other example a vision span (needs a vocabulary with a vision table). */
  vision?: boolean;
  /** Example length range (tokens, BOS included). */
  minExample?: number;
  maxExample?: number;
  /**
   * Writes the current shard format with this stage kind. Unset: format 1 (no kind recorded), whose
   * exact bytes — and so held-out split and shuffle, both derived from the shard hashes — the
   * training tests' expectations were made with.
   */
  kind?: StageKind;
}

function hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function example(id: string, length: number, start: number, stride: number, vocab: VocabLayout, withVision: boolean): ExampleRecord {
  const span = vocab.textVocabSize - FIRST_ID;
  const tokens = new Uint16Array(length);
  const vision = new Uint8Array(length);
  tokens[0] = vocab.bosId;
  for (let i = 1; i < length; i++) tokens[i] = FIRST_ID + ((start + (i - 1) * stride) % span);
  const hasVision = withVision && length >= 8;
  if (hasVision) {
    // Text, then codes counting upward, then <eov>, then text again: a learnable vision span.
    const a = 2;
    const b = length - 3;
    for (let i = a; i < b; i++) {
      tokens[i] = (start + i) % vocab.visionCodes;
      vision[i] = 1;
    }
    tokens[b] = vocab.eovId;
    vision[b] = 1;
  }
  const loss = new Uint8Array(length).fill(1);
  loss[0] = 0;
  return {
    exampleId: hex(id).slice(0, 32),
    task: hasVision ? "text-image" : "text", // loss on every token but BOS: the vision span is trained
    tokens,
    vision,
    loss,
    provenance: { kind: "text-file", file: "synthetic.txt", fileSha256: hex("synthetic"), bytes: { start: 0, end: length } },
  };
}

export async function writeSyntheticStage(outRoot: string, o: SyntheticStageOptions): Promise<Manifest> {
  const vocab = o.vocab ?? (o.vision ? TINY_VL_VOCAB : TINY_VOCAB);
  const dir = join(outRoot, o.stage);
  await mkdir(dir, { recursive: true });
  const fields = { stage: o.stage, seqLen: o.seqLen, vocab, tokenizerSha256: hex("tokenizer"), vqganSha256: null, rowsPerBatch: o.rowsPerBatch ?? 4 };
  const meta = o.kind ? shardMetadata({ ...fields, stageKind: o.kind }) : formatOneShardMetadata(fields);
  return writeStage(dir, meta, syntheticRows(o, vocab), {
    rowsPerShard: Math.ceil(o.rows / (o.shards ?? 1)),
    sources: (totals) => ({
      mixture: [{ source: "synthetic", asked: 1, achieved: 1, tokens: totals.realTokens, examples: totals.segments }],
      inputs: [{ file: "synthetic.txt", sha256: hex("synthetic") }],
      lineage: { recipe: { name: "synthetic", sha256: hex("synthetic recipe") }, steps: [{ name: "synthetic", version: "1" }], codeVersion: "synthetic" },
    }),
  });
}

/** `o.rows` rows of back-to-back examples of random length (at least one per row). */
function* syntheticRows(o: SyntheticStageOptions, vocab: VocabLayout): Generator<PackedRow> {
  const u = uniformSampler(o.seed ?? 1);
  const minEx = o.minExample ?? Math.max(4, Math.floor(o.seqLen / 4));
  const maxEx = Math.min(o.seqLen, o.maxExample ?? Math.floor(o.seqLen / 2));
  const span = vocab.textVocabSize - FIRST_ID;
  for (let r = 0; r < o.rows; r++) {
    const examples: ExampleRecord[] = [];
    let used = 0;
    for (;;) {
      const len = minEx + Math.floor(u() * (maxEx - minEx + 1));
      if (used + len > o.seqLen) break;
      const withVision = o.vision === true && examples.length % 2 === 0;
      examples.push(example(`${o.stage}/${r}/${examples.length}`, len, Math.floor(u() * span), 1 + Math.floor(u() * 2), vocab, withVision));
      used += len;
    }
    if (examples.length === 0) examples.push(example(`${o.stage}/${r}/0`, o.seqLen, 0, 1, vocab, o.vision === true));
    yield assembleRow(o.seqLen, vocab, examples);
  }
}
