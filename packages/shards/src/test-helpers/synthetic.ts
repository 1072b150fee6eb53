/**
 * Seeded generators of LWM-layout examples and packed rows for tests and the benchmark: text
 * examples (BOS … EOS, loss on all but BOS or on an answer suffix) and vision examples
 * (`<vision>` pieces, k frames of 256 codes + <eof>, the last <eov>, `</vision>` pieces, caption).
 */
import { LLAMA2_LWM_VOCAB, type ExampleRecord, type Provenance, type ShardMetadata, type VocabLayout } from "@lwm/schemas";
import { mulberry32 } from "@lwm/core";
import { formatOneShardMetadata } from "../metadata.js";
import { assembleRow, type PackedRow } from "../row.js";

/** The seeded uniform generator every synthetic helper draws from. */
export const rng = mulberry32;

const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function hex32(r: () => number): string {
  let s = "";
  for (let i = 0; i < 4; i++)
    s += Math.floor(r() * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  return s;
}

const SHA = "ab".repeat(32);
const VISION_OPEN = [529, 4924, 29958]; // stand-ins for pieces("<vision>")
const VISION_CLOSE = [1533, 4924, 29958];

function provenanceFor(r: () => number, kind: "text" | "vision"): Provenance {
  if (kind === "vision") {
    return { kind: "media", file: `videos/clip-${int(r, 0, 999)}.mp4`, fileSha256: SHA, frameTimestamps: [0, 0.5] };
  }
  const start = int(r, 0, 1e6);
  return { kind: "text-file", file: `books/book-${int(r, 0, 99)}.txt`, fileSha256: SHA, bytes: { start, end: start + int(r, 1, 5000) } };
}

/** A text example of `n` ≥ 2 tokens: BOS, random text ids, EOS; loss on everything after BOS, or only on a suffix (chat answer). */
export function textExample(r: () => number, n: number, layout: VocabLayout = LLAMA2_LWM_VOCAB): ExampleRecord {
  const tokens = new Uint16Array(n);
  const vision = new Uint8Array(n);
  const loss = new Uint8Array(n);
  tokens[0] = layout.bosId;
  for (let i = 1; i < n - 1; i++) tokens[i] = int(r, 3, layout.textVocabSize - 1);
  tokens[n - 1] = layout.eosId;
  const answerStart = r() < 0.5 ? 1 : int(r, 1, n - 1);
  loss.fill(1, answerStart);
  return { exampleId: hex32(r), task: "text", tokens, vision, loss, provenance: provenanceFor(r, "text") };
}

/** Tokens an image/video example with `frames` frames and `caption` caption tokens takes. */
export function visionExampleLength(frames: number, caption: number, layout: VocabLayout = LLAMA2_LWM_VOCAB): number {
  return 1 + VISION_OPEN.length + frames * (layout.tokensPerFrame + 1) + VISION_CLOSE.length + caption + 1;
}

/** Vision→text (loss on the caption) or text→vision (loss on the vision tokens) example. */
export function visionExample(r: () => number, frames: number, caption: number, layout: VocabLayout = LLAMA2_LWM_VOCAB): ExampleRecord {
  const n = visionExampleLength(frames, caption, layout);
  const tokens = new Uint16Array(n);
  const vision = new Uint8Array(n);
  const loss = new Uint8Array(n);
  const toText = r() < 0.5;
  let i = 0;
  tokens[i++] = layout.bosId;
  for (const t of VISION_OPEN) tokens[i++] = t;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < layout.tokensPerFrame; c++) {
      vision[i] = 1;
      loss[i] = toText ? 0 : 1;
      tokens[i++] = int(r, 0, layout.visionCodes - 1);
    }
    vision[i] = 1;
    loss[i] = toText ? 0 : 1;
    tokens[i++] = f === frames - 1 ? layout.eovId : layout.eofId;
  }
  for (const t of VISION_CLOSE) tokens[i++] = t;
  for (let c = 0; c < caption; c++) {
    loss[i] = toText ? 1 : 0;
    tokens[i++] = int(r, 3, layout.textVocabSize - 1);
  }
  loss[i] = 1;
  tokens[i++] = layout.eosId;
  return { exampleId: hex32(r), task: toText ? "video-text" : "text-video", tokens, vision, loss, provenance: provenanceFor(r, "vision") };
}

export interface RowMix {
  /** Share of vision examples (0..1). */
  visionShare: number;
  /** Text example length range. */
  textTokens: [number, number];
  /** Frames per vision example. */
  frames: [number, number];
  /** Chance that a row ends with padding rather than being filled exactly. */
  padChance: number;
}

export const DEFAULT_MIX: RowMix = { visionShare: 0.4, textTokens: [2, 300], frames: [1, 3], padChance: 0.7 };

/** A random packed row: random examples until the row is (nearly) full. */
export function randomRow(r: () => number, seqLen: number, mix: RowMix = DEFAULT_MIX, layout: VocabLayout = LLAMA2_LWM_VOCAB): PackedRow {
  const examples: ExampleRecord[] = [];
  let used = 0;
  const fillExactly = r() >= mix.padChance;
  for (;;) {
    const room = seqLen - used;
    if (room < 2) break;
    let e: ExampleRecord;
    const frames = int(r, mix.frames[0], mix.frames[1]);
    if (r() < mix.visionShare && visionExampleLength(frames, 2, layout) <= room) {
      e = visionExample(r, frames, int(r, 1, Math.min(40, room - visionExampleLength(frames, 0, layout))), layout);
    } else {
      const want = int(r, mix.textTokens[0], mix.textTokens[1]);
      if (want > room && !fillExactly) {
        if (examples.length > 0) break;
      }
      e = textExample(r, Math.max(2, Math.min(want, room)), layout);
    }
    examples.push(e);
    used += e.tokens.length;
  }
  return assembleRow(seqLen, layout, examples);
}

/**
 * Metadata of a test shard: the LWM vocabulary, fixed stand-in hashes. Format 1, whose bytes the
 * validator tests patch (the validator accepts both versions; the stage kind has its own tests).
 */
export function testMetadata(seqLen: number, rowsPerBatch: number, stage = "test"): ShardMetadata {
  return formatOneShardMetadata({
    stage,
    seqLen,
    vocab: LLAMA2_LWM_VOCAB,
    tokenizerSha256: "cd".repeat(32),
    vqganSha256: "ef".repeat(32),
    rowsPerBatch,
  });
}
