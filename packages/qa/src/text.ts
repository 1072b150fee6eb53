/**
 * Sentence ends and word normalisation for ordinary prose (English, German, French books as
 * Project Gutenberg prints them). Used by chunking (cut at sentence ends), the extractive
 * generator (one sentence = one evidence) and grounding (span and overlap checks).
 */

/** Words that end in "." without ending a sentence. */
const ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "st",
  "sr",
  "jr",
  "prof",
  "rev",
  "capt",
  "col",
  "gen",
  "lt",
  "sgt",
  "messrs",
  "mme",
  "mlle",
  "hr",
  "fr",
  "no",
  "vol",
  "ch",
  "chap",
  "p",
  "pp",
  "ed",
  "etc",
  "e.g",
  "i.e",
  "vs",
  "cf",
  "viz",
  "z.b",
  "u.a",
  "bzw",
  "ca",
  "nr",
  "sq",
  "esq",
]);

/** Closing quotes and brackets that may follow the sentence-ending punctuation. */
const CLOSERS = "\"'”’»)]_*";

/**
 * Offsets (UTF-16 indices into `text`) just past each sentence end: ".", "!", "?" or "…" (with any
 * closing quotes or brackets after it) followed by whitespace or the end of the text, unless the
 * word before a "." is a known abbreviation or a single letter (an initial) or the next word on the
 * line starts in lower case ("“So?” she asked"); and every paragraph
 * break (a blank line). Always includes text.length when the text does not end with one.
 */
export function sentenceEnds(text: string): number[] {
  const ends: number[] = [];
  const push = (at: number): void => {
    if (at > 0 && (ends.length === 0 || (ends[ends.length - 1] as number) < at)) ends.push(at);
  };
  const re = /[.!?…]+|\n[ \t]*\n/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].startsWith("\n")) {
      push(trimEndIndex(text, m.index));
      continue;
    }
    let end = m.index + m[0].length;
    while (end < text.length && CLOSERS.includes(text[end] as string)) end += 1;
    if (end < text.length && !/\s/.test(text[end] as string)) continue;
    // “Is it so?” she asked: a lower-case word after the mark continues the sentence.
    if (/^[ \t]*\p{Ll}/u.test(text.slice(end, end + 8))) continue;
    if (m[0] === ".") {
      const word = /([\p{L}.]+)$/u.exec(text.slice(Math.max(0, m.index - 12), m.index))?.[1] ?? "";
      if (word.length === 1 || ABBREVIATIONS.has(word.toLowerCase())) continue;
    }
    push(end);
  }
  push(trimEndIndex(text, text.length));
  return ends;
}

function trimEndIndex(text: string, at: number): number {
  let end = at;
  while (end > 0 && /\s/.test(text[end - 1] as string)) end -= 1;
  return end;
}

export interface Sentence {
  /** [start, end) in UTF-16 indices of the text it was cut from. */
  start: number;
  end: number;
  text: string;
}

/** The sentences of a text, leading whitespace trimmed, empty ones left out. */
export function sentencesOf(text: string): Sentence[] {
  const out: Sentence[] = [];
  let start = 0;
  for (const end of sentenceEnds(text)) {
    let s = start;
    while (s < end && /\s/.test(text[s] as string)) s += 1;
    if (s < end) out.push({ start: s, end, text: text.slice(s, end) });
    start = end;
  }
  return out;
}

/**
 * A comparison form of a text: NFKC, lower case, typographic quotes, dashes and apostrophes folded,
 * Gutenberg's _italics_ marks dropped, every run of whitespace one space.
 */
export function normalize(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[‘’‛′`]/g, "'")
    .replace(/[“”„‟″«»]/g, '"')
    .replace(/[‐‑‒–—―]/g, "-")
    .replace(/_/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The words of a text (letters and digits, normalised), in order. */
export function wordsOf(text: string): string[] {
  return normalize(text).match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** Function words that say nothing about which sentence a question is about. */
const STOPWORDS = new Set(
  (
    "a an the and or but if then so of in on at to for from by with without into onto over under about as is are was were be been being " +
    "it its this that these those he she they them his her their him we us our you your i me my mine which who whom whose what when where why how " +
    "not no nor do does did done have has had having will would shall should can could may might must there here than too very also just only " +
    "all any some such each every other own same more most much many few one up down out off again once s t " +
    "der die das und oder ein eine einen einem einer nicht zu mit von auf für ist war sich er sie es ich du wir ihr den dem des im in an " +
    "le la les un une des et ou de du au aux en dans pour par sur avec il elle ils elles je tu nous vous ne pas est était que qui"
  ).split(" "),
);

/** The content words of a text: its words minus stopwords. */
export function contentWords(text: string): string[] {
  return wordsOf(text).filter((w) => !STOPWORDS.has(w));
}

export function isStopword(word: string): boolean {
  return STOPWORDS.has(normalize(word));
}

/** True when `needle`'s words occur, in order and adjacent, among `haystack`'s words. */
export function containsWords(haystack: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return false;
  outer: for (let i = 0; i + needle.length <= haystack.length; i += 1) {
    for (let j = 0; j < needle.length; j += 1) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
