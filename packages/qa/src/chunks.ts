import { exampleIdOf } from "@lwm/core";
import { sentenceEnds } from "./text.js";

/** A document as chunking needs it: its cleaned text and where each of its tokens starts. */
export interface TokenizedDocument {
  documentId: string;
  text: string;
  /** UTF-16 index into `text` where token i starts (non-decreasing), one per token. */
  tokenStarts: Uint32Array;
}

/** A run of whole sentences of one document, about `chunkTokens` long. */
export interface DocumentChunk {
  /** exampleIdOf("qa-chunk", documentId, token start, token end). */
  id: string;
  documentId: string;
  /** 0-based position in the document. */
  index: number;
  /** Token range [start, end) of the document's tokens. */
  tokens: { start: number; end: number };
  /** UTF-16 range of the document's text. */
  chars: { start: number; end: number };
  /** UTF-8 byte range of the document's text. */
  bytes: { start: number; end: number };
  /** The chunk's text (its characters exactly; the passage a generator sees is this, trimmed). */
  text: string;
  /** "sentence" when the chunk ends at a sentence end (or the document's end), "hard" when no sentence end was near. */
  cut: "sentence" | "hard";
}

/** First index i with a[i] >= x (a sorted). */
function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Cuts a document into chunks of about `chunkTokens` tokens that end at sentence ends: the last
 * sentence end in [½·chunkTokens, chunkTokens] after the chunk's start, else the first one up to
 * 1½·chunkTokens, else a hard cut at chunkTokens (verse without punctuation, tables). A last chunk
 * under ¼·chunkTokens joins the one before it. Deterministic; chunks tile the token range.
 */
export function chunkDocument(doc: TokenizedDocument, chunkTokens: number): DocumentChunk[] {
  if (!Number.isInteger(chunkTokens) || chunkTokens < 8) throw new RangeError(`chunkTokens must be an integer >= 8, got ${chunkTokens}`);
  const n = doc.tokenStarts.length;
  if (n === 0) return [];
  // Token index where each sentence ends (the first token starting at or after the end offset).
  const cuts = [...new Set(sentenceEnds(doc.text).map((e) => lowerBound(doc.tokenStarts, e)))].filter((b) => b > 0 && b <= n).sort((a, b) => a - b);
  const ranges: { start: number; end: number; cut: "sentence" | "hard" }[] = [];
  let start = 0;
  let c = 0;
  while (start < n) {
    const target = start + chunkTokens;
    if (target >= n) {
      ranges.push({ start, end: n, cut: "sentence" });
      break;
    }
    while (c < cuts.length && (cuts[c] as number) <= start) c += 1;
    let best = -1;
    let k = c;
    for (; k < cuts.length && (cuts[k] as number) <= target; k += 1) if ((cuts[k] as number) >= start + chunkTokens / 2) best = cuts[k] as number;
    if (best < 0 && k < cuts.length && (cuts[k] as number) <= start + 1.5 * chunkTokens) best = cuts[k] as number;
    const end = best > 0 ? best : target;
    ranges.push({ start, end, cut: best > 0 ? "sentence" : "hard" });
    start = end;
  }
  const last = ranges[ranges.length - 1];
  const before = ranges[ranges.length - 2];
  if (last && before && last.end - last.start < chunkTokens / 4) {
    before.end = last.end;
    before.cut = last.cut;
    ranges.pop();
  }
  const charAt = (t: number): number => (t >= n ? doc.text.length : (doc.tokenStarts[t] as number));
  let byte = Buffer.byteLength(doc.text.slice(0, charAt(0)), "utf8");
  return ranges.map((r, index) => {
    const chars = { start: charAt(r.start), end: charAt(r.end) };
    const text = doc.text.slice(chars.start, chars.end);
    const bytes = { start: byte, end: byte + Buffer.byteLength(text, "utf8") };
    byte = bytes.end;
    return {
      id: exampleIdOf("qa-chunk", doc.documentId, r.start, r.end),
      documentId: doc.documentId,
      index,
      tokens: { start: r.start, end: r.end },
      chars,
      bytes,
      text,
      cut: r.cut,
    };
  });
}

/** UTF-16 indices of UTF-8 byte offsets into `text` (byte offsets sorted ascending, at character starts). */
export function charOffsetsOfBytes(text: string, byteOffsets: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(byteOffsets.length);
  let ch = 0;
  let byte = 0;
  for (let i = 0; i < byteOffsets.length; i += 1) {
    const want = byteOffsets[i] as number;
    while (byte < want && ch < text.length) {
      const cp = text.codePointAt(ch) as number;
      byte += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      ch += cp >= 0x10000 ? 2 : 1;
    }
    out[i] = ch;
  }
  return out;
}
