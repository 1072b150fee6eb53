/**
 * The vision blocks of a packed row as clips a person can look at: each block's codes per frame,
 * the frames' timestamps (from the segment's media provenance) and the caption (the segment's
 * text, without BOS/EOS and the `<vision>` tags).
 */
import type { VocabLayout } from "@lwm/schemas";
import { describeProvenance, rowSegments, type PackedRow, type SegmentDetail, type TokenDecoder } from "@lwm/shards";

export interface VisionClip {
  /** Segment of the row the block is in, and the block's place in that segment (0, 1, …). */
  segment: number;
  block: number;
  /** Row token indices [start, end) of the block's vision run (codes and delimiters). */
  start: number;
  end: number;
  frames: number;
  /** frames × tokensPerFrame codes, raster order per frame. */
  codes: Uint16Array;
  /** Presentation time of each frame in the source, null where provenance does not say. */
  timestamps: (number | null)[];
  /** The block carries loss (a →vision task) or not (a →text task, or context). */
  loss: boolean;
  caption: string;
  /** The segment's provenance in one line. */
  source: string;
  exampleId: string;
}

const VISION_TAGS = /<\/?vision>/g;

/** The segment's text without special tokens or vision tags: what the frames are captioned with. */
async function captionOf(row: PackedRow, seg: SegmentDetail, decoder: TokenDecoder | null, vocab: VocabLayout): Promise<string> {
  const pieces: string[] = [];
  for (const span of seg.spans) {
    if (span.kind !== "text") continue;
    const ids = Array.from(row.tokens.subarray(span.start, span.end)).filter((t) => t !== vocab.bosId && t !== vocab.eosId);
    if (ids.length > 0) pieces.push(decoder ? await decoder.decode(ids) : `[${ids.join(" ")}]`);
  }
  return pieces.join("").replace(VISION_TAGS, " ").replace(/\s+/g, " ").trim();
}

/** Every vision block of the row, in row order. Frame timestamps are matched to blocks in order. */
export async function rowClips(row: PackedRow, vocab: VocabLayout, decoder: TokenDecoder | null): Promise<VisionClip[]> {
  const clips: VisionClip[] = [];
  const per = vocab.tokensPerFrame;
  for (const seg of rowSegments(row, vocab)) {
    if (seg.visionBlocks.length === 0) continue;
    const caption = await captionOf(row, seg, decoder, vocab);
    const times = seg.provenance.kind === "media" ? seg.provenance.frameTimestamps : [];
    let frameOffset = 0;
    seg.visionBlocks.forEach((b, k) => {
      const codes = new Uint16Array(b.frames * per);
      for (let f = 0; f < b.frames; f++) codes.set(row.tokens.subarray(b.start + f * (per + 1), b.start + f * (per + 1) + per), f * per);
      clips.push({
        segment: seg.index,
        block: k,
        start: b.start,
        end: b.end,
        frames: b.frames,
        codes,
        timestamps: Array.from({ length: b.frames }, (_, f) => times[frameOffset + f] ?? null),
        loss: b.loss,
        caption,
        source: describeProvenance(seg.provenance),
        exampleId: seg.exampleId,
      });
      frameOffset += b.frames;
    });
  }
  return clips;
}
