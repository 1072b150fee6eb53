/**
 * Project Gutenberg framing: the licence header before "*** START OF THE PROJECT GUTENBERG EBOOK
 * … ***" and the footer from "*** END OF …" (often indented) to the end. Copies that lost the START
 * marker (or the whole header) keep their beginning, unless it is a recognisable PG metadata block.
 */
export interface GutenbergFrame {
  /** The book's body: [start, end) in UTF-16 code units of the input. */
  start: number;
  end: number;
  title?: string;
  /** ISO 639-1 when the "Language:" name is known, else the name as written. */
  language?: string;
  /** Which markers were found (for the report). */
  found: { start: boolean; end: boolean; header: boolean };
}

const START_MARKER = /^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$/im;
const END_MARKER = /^[ \t]*\*{3}[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$/im;
/** Older closing line, just before (or instead of) the END marker. */
const END_LINE = /^[ \t]*End of (?:the )?Project Gutenberg(?:'s|’s)? (?:E-?Book|E-?text|Etext)?.*$/gim;
const HEADER_FIELD =
  /^(?:Title|Author|Release Date|Posting Date|Language|Character set encoding|Produced by|Credits|Last Updated|Most recently updated|Translator|Illustrator|Editor|Contributor|Original publication):/i;
/** How far into the text a header without a START marker can reach. */
const HEADER_SCAN_CHARS = 8000;

const LANGUAGES: Record<string, string> = {
  english: "en",
  french: "fr",
  german: "de",
  spanish: "es",
  italian: "it",
  portuguese: "pt",
  dutch: "nl",
  latin: "la",
  finnish: "fi",
  swedish: "sv",
  danish: "da",
  norwegian: "no",
  polish: "pl",
  russian: "ru",
  chinese: "zh",
  japanese: "ja",
  greek: "el",
  hungarian: "hu",
  czech: "cs",
  esperanto: "eo",
  tagalog: "tl",
};

export function languageCode(name: string): string {
  const key = name.trim().toLowerCase();
  return LANGUAGES[key] ?? key;
}

export function findGutenbergFrame(text: string): GutenbergFrame {
  const startMatch = START_MARKER.exec(text);
  let start = 0;
  let header = false;
  const headerRegion = startMatch ? text.slice(0, startMatch.index) : text.slice(0, HEADER_SCAN_CHARS);
  const meta = headerMetadata(headerRegion);
  if (startMatch) {
    start = skipCredits(text, lineEnd(text, startMatch.index + startMatch[0].length));
    header = true;
  } else if (/Project Gutenberg/i.test(text.slice(0, HEADER_SCAN_CHARS)) && meta.lastFieldEnd > 0) {
    // No START marker but a PG metadata block: the body starts after the block's paragraph.
    const blank = /\n[ \t]*\r?\n/g;
    blank.lastIndex = meta.lastFieldEnd;
    const m = blank.exec(text);
    start = m ? m.index + m[0].length : meta.lastFieldEnd;
    header = true;
  }

  let end = text.length;
  END_MARKER.lastIndex = 0;
  const rest = text.slice(start);
  const endMatch = END_MARKER.exec(rest);
  const endMarkerAt = endMatch ? start + endMatch.index : -1;
  let endLineAt = -1;
  for (const m of rest.matchAll(END_LINE)) {
    const at = start + m.index;
    // The older closing line counts only just before the END marker, or as the last such line.
    if (endMarkerAt < 0 || (at < endMarkerAt && endMarkerAt - at < 2000)) endLineAt = at;
    if (endMarkerAt >= 0 && at >= endMarkerAt) break;
  }
  if (endMarkerAt >= 0) end = endMarkerAt;
  if (endLineAt >= 0 && (endMarkerAt < 0 || endLineAt < endMarkerAt)) end = endLineAt;

  const frame: GutenbergFrame = { start, end: Math.max(start, end), found: { start: startMatch !== null, end: endMarkerAt >= 0 || endLineAt >= 0, header } };
  if (meta.title) frame.title = meta.title;
  if (meta.language) frame.language = languageCode(meta.language);
  return frame;
}

/** Paragraphs that PG puts right after the START marker: producer credits, an inner PG title block, "***". */
const CREDIT_PARAGRAPH = /^\s*(?:(?:Produced|Prepared|Transcribed|Digitized) by\b|E-?text prepared by\b|\*+\s*$)|Project Gutenberg/i;
const MAX_CREDIT_PARAGRAPHS = 6;

function skipCredits(text: string, from: number): number {
  let at = from;
  for (let i = 0; i < MAX_CREDIT_PARAGRAPHS; i += 1) {
    const lead = /^(?:[ \t]*\r?\n)*/.exec(text.slice(at, at + 4096));
    const paraStart = at + (lead ? lead[0].length : 0);
    const blank = /\r?\n[ \t]*\r?\n/g;
    blank.lastIndex = paraStart;
    const m = blank.exec(text);
    const paraEnd = m ? m.index + 1 : text.length;
    const paragraph = text.slice(paraStart, paraEnd);
    // The END marker right after START (a file with no body) is never a credit: the frame ends there.
    if (END_MARKER.test(paragraph) || !CREDIT_PARAGRAPH.test(paragraph)) return at;
    at = m ? m.index + m[0].length : text.length;
  }
  return at;
}

function headerMetadata(region: string): { title?: string; language?: string; lastFieldEnd: number } {
  const out: { title?: string; language?: string; lastFieldEnd: number } = { lastFieldEnd: 0 };
  const line = /^.*$/gm;
  for (const m of region.matchAll(line)) {
    const l = m[0].replace(/\r$/, "");
    if (!HEADER_FIELD.test(l)) continue;
    out.lastFieldEnd = m.index + m[0].length;
    const [name, ...value] = l.split(":");
    const v = value.join(":").trim();
    if (!v) continue;
    if (/^title$/i.test(name ?? "") && out.title === undefined) out.title = v;
    if (/^language$/i.test(name ?? "") && out.language === undefined) out.language = v;
  }
  return out;
}

function lineEnd(text: string, from: number): number {
  const nl = text.indexOf("\n", from);
  return nl < 0 ? text.length : nl + 1;
}
