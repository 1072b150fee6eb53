/**
 * The extractive generator: deterministic and model-free, for the sample and smoke runs. It writes
 * cloze questions about the chunk's own sentences: a sentence of ordinary length, one name, number
 * or rare word blanked out; the answer is that span and the evidence is the sentence. The rule
 * needs only sentence ends and capitalisation, so it works on any prose (English, German, French
 * books), not only on the sample's template text.
 */
import { createHash } from "node:crypto";
import type { Chunk, Generation, Generator, GeneratorIdentity, Proposal } from "./generator.js";
import { instructionLike } from "./grounding.js";
import { isStopword, sentencesOf, wordsOf } from "./text.js";

export const EXTRACTIVE_VERSION = "lwm-qa-extractive/1";

/** Sentences shorter or longer than this (in words) are not asked about. */
const MIN_SENTENCE_WORDS = 8;
const MAX_SENTENCE_WORDS = 60;
/** The quoted sentence is cut to this many words around the blank. */
const QUOTE_WORDS = 28;

type AnswerKind = "name" | "number" | "word";

interface Candidate {
  kind: AnswerKind;
  /** UTF-16 range of the answer inside the sentence. */
  start: number;
  end: number;
  sentence: string;
  sentenceIndex: number;
  /** Order among candidates: names and numbers first, then a hash for variety. */
  rank: string;
}

const NUMBER_WORDS = new Set(
  "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million".split(
    " ",
  ),
);
const TITLES = /^(?:Mr|Mrs|Ms|Dr|St|Sir|Lady|Lord|Miss|Captain|Colonel|Madame|Monsieur|Herr|Frau)\.?$/;

/** Words of a sentence with their UTF-16 ranges. */
function tokensOf(sentence: string): { text: string; start: number; end: number }[] {
  return [...sentence.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}

function hash(...parts: (string | number)[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/** Candidate answers of one sentence: runs of capitalised words (not the sentence's first word alone), numbers, rare long words. */
function candidatesOf(sentence: string, sentenceIndex: number, chunkId: string): Candidate[] {
  const words = tokensOf(sentence);
  const out: Candidate[] = [];
  const add = (kind: AnswerKind, start: number, end: number): void => {
    const text = sentence.slice(start, end);
    const first = kind !== "word" ? "1" : /^\p{Lu}/u.test(text) ? "2" : "3";
    out.push({ kind, start, end, sentence, sentenceIndex, rank: first + hash(chunkId, sentenceIndex, text) });
  };
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i] as { text: string; start: number; end: number };
    if (/^\d[\d,.]*$/.test(w.text) || NUMBER_WORDS.has(w.text.toLowerCase())) {
      add("number", w.start, w.end);
      continue;
    }
    if (/^\p{Lu}\p{Ll}+/u.test(w.text) && !isStopword(w.text) && w.text !== "I") {
      let j = i;
      while (
        j + 1 < words.length &&
        /^\p{Lu}/u.test((words[j + 1] as { text: string }).text) &&
        sentence.slice(words[j]!.end, words[j + 1]!.start).trim() === ""
      )
        j += 1;
      const prev = words[i - 1];
      const titled = prev !== undefined && TITLES.test(prev.text);
      // A lone capitalised word opening the sentence may be capitalised only for being first.
      // Several capitalised words, or one after a title, are a name; one alone is a word (German
      // capitalises every noun).
      if (i > 0 || j > i) add(j > i || titled ? "name" : "word", titled ? (prev as { start: number }).start : w.start, (words[j] as { end: number }).end);
      i = j;
      continue;
    }
    if (w.text.length >= 7 && /^\p{Ll}+$/u.test(w.text) && !isStopword(w.text)) add("word", w.start, w.end);
  }
  return out;
}

/** The sentence with the answer blanked, cut to about QUOTE_WORDS words around the blank. */
function clozeOf(c: Candidate): string {
  const before = c.sentence.slice(0, c.start).replace(/\s+/g, " ").trimStart();
  const after = c.sentence.slice(c.end).replace(/\s+/g, " ").trimEnd();
  const beforeWords = before.split(" ");
  const afterWords = after.split(" ");
  const half = Math.floor(QUOTE_WORDS / 2);
  const head = beforeWords.length > half ? `…${beforeWords.slice(-half).join(" ")}` : before;
  const tail = afterWords.length > half ? `${afterWords.slice(0, half).join(" ")}…` : after;
  return `${head}___${tail}`.replace(/"/g, "'");
}

const QUESTION_OF: Record<AnswerKind, string> = {
  name: "Which name is missing from this sentence",
  number: "Which number is missing from this sentence",
  word: "Which word is missing from this sentence",
};

export class ExtractiveGenerator implements Generator {
  readonly identity: GeneratorIdentity = { kind: "extractive", model: EXTRACTIVE_VERSION, baseUrl: null, promptVersion: EXTRACTIVE_VERSION, sampling: null };
  private generated = 0;

  /**
   * Up to `pairs` cloze pairs from distinct sentences with distinct answers; an answer must occur
   * once in the chunk (so the blank has one filling there). Sentences that read as instructions
   * to a model are skipped.
   */
  async generate(chunk: Chunk, pairs: number): Promise<Generation> {
    const chunkWords = wordsOf(chunk.text);
    const count = (words: string[]): number => {
      let n = 0;
      for (let i = 0; i + words.length <= chunkWords.length; i += 1) if (words.every((w, k) => chunkWords[i + k] === w)) n += 1;
      return n;
    };
    const candidates = sentencesOf(chunk.text)
      .map((s, i) => ({ s, i, words: wordsOf(s.text).length }))
      // Runs of spaces are table layout (contents, lists of illustrations with page numbers), not prose.
      .filter(({ s, words }) => words >= MIN_SENTENCE_WORDS && words <= MAX_SENTENCE_WORDS && !/ {3}|\t/.test(s.text) && !instructionLike(s.text))
      .flatMap(({ s, i }) => candidatesOf(s.text, i, chunk.id))
      .filter((c) => count(wordsOf(c.sentence.slice(c.start, c.end))) === 1)
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    const chosen: Candidate[] = [];
    for (const c of candidates) {
      if (chosen.length >= pairs) break;
      if (chosen.some((d) => d.sentenceIndex === c.sentenceIndex)) continue;
      chosen.push(c);
    }
    this.generated += 1;
    if (chosen.length === 0) {
      return {
        ok: false,
        reason: `no candidate: no sentence of ${MIN_SENTENCE_WORDS}–${MAX_SENTENCE_WORDS} words with a name, number or rare word that occurs once in the chunk`,
      };
    }
    // Chunk order, so the pairs read in the order of the text.
    chosen.sort((a, b) => a.sentenceIndex - b.sentenceIndex);
    const proposals: Proposal[] = chosen.map((c) => ({
      pair: {
        question: `${QUESTION_OF[c.kind]}: "${clozeOf(c)}"?`,
        answer: c.sentence.slice(c.start, c.end),
        evidence: c.sentence,
      },
    }));
    for (let k = chosen.length; k < pairs; k += 1)
      proposals.push({ reject: `no candidate: the chunk has ${chosen.length} usable sentence(s) for ${pairs} pairs` });
    return { ok: true, pairs: proposals, raw: "", finishReason: "stop" };
  }

  counters(): Record<string, number> {
    return { chunks: this.generated };
  }

  async close(): Promise<void> {}
}
