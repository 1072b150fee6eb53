import { findGutenbergFrame } from "./gutenberg.js";

export interface CleanOptions {
  /** Cut Project Gutenberg headers, footers and licence. */
  stripGutenberg: boolean;
  /** Documents shorter than this (in characters, after cleaning) are rejected. */
  minChars: number;
}

export type CleanResult =
  | {
      ok: true;
      text: string;
      /** The part of the input the text was made from: [start, end) in UTF-16 code units. */
      start: number;
      end: number;
      title?: string;
      language?: string;
    }
  | { ok: false; reason: string };

/** More C0 control characters (other than tab, newlines, form feed) than this share means binary. */
const MAX_CONTROL_SHARE = 0.001;

/**
 * The one cleaning function (deterministic: re-cleaning the part it reports as [start, end) gives
 * the same text):
 * BOM removal → binary check → Gutenberg frame → newlines to "\n" → NFC → leading blank lines and
 * trailing whitespace removed.
 */
export function cleanText(decoded: string, options: CleanOptions): CleanResult {
  const bom = decoded.charCodeAt(0) === 0xfeff ? 1 : 0;
  const text = bom ? decoded.slice(1) : decoded;
  if (text.length === 0) return { ok: false, reason: "empty document" };
  const binary = binaryReason(text);
  if (binary) return { ok: false, reason: binary };

  const frame = options.stripGutenberg ? findGutenbergFrame(text) : { start: 0, end: text.length };
  const cleaned = normalizeBody(text.slice(frame.start, frame.end));
  if (cleaned.length === 0) {
    const framed = "found" in frame && frame.found.start && frame.found.end;
    return { ok: false, reason: framed ? "no body between the Gutenberg markers" : "empty after cleaning" };
  }
  if (cleaned.length < options.minChars) return { ok: false, reason: `too short after cleaning: ${cleaned.length} chars < minChars ${options.minChars}` };
  const out: CleanResult = { ok: true, text: cleaned, start: frame.start + bom, end: frame.end + bom };
  if ("title" in frame && frame.title) out.title = frame.title;
  if ("language" in frame && frame.language) out.language = frame.language;
  return out;
}

/** Newlines → "\n", NFC, no leading blank lines, no trailing whitespace. */
export function normalizeBody(body: string): string {
  return body
    .replace(/\r\n?/g, "\n")
    .normalize("NFC")
    .replace(/^(?:[ \t\f\v]*\n)+/, "")
    .trimEnd();
}

function binaryReason(text: string): string | null {
  const nul = text.indexOf("\u0000");
  if (nul >= 0) return `binary content: NUL character at char ${nul}`;
  let controls = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x0b) controls += 1;
  }
  if (controls > Math.max(8, text.length * MAX_CONTROL_SHARE)) return `binary content: ${controls} control characters in ${text.length}`;
  return null;
}
