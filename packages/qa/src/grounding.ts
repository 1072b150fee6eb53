/**
 * Grounding checks: is a proposed pair usable training data? Each check that fails gives a reject
 * reason whose first words (up to ":") are its category in the step report: empty, long answer,
 * role marker, special token, instruction-like, unsupported, trivial, duplicate, ambiguous.
 */
import type { QaPair } from "./generator.js";
import { ASSISTANT_MARKER, USER_MARKER, preview } from "./prompt.js";
import { containsWords, contentWords, normalize, sentencesOf, wordsOf } from "./text.js";

export interface GroundingOptions {
  /** Answers longer than this many words are rejected (the prompt asks for a short span). */
  maxAnswerWords: number;
  /** Evidence that is not a span of the chunk needs this share of its words in one window of the chunk. */
  minEvidenceOverlap: number;
  /** An answer that is not a span of the evidence needs this share of its content words in the evidence. */
  minAnswerOverlap: number;
}

export const DEFAULT_GROUNDING: GroundingOptions = { maxAnswerWords: 24, minEvidenceOverlap: 0.9, minAnswerOverlap: 0.8 };

export type Check = { ok: true; pair: QaPair } | { ok: false; reason: string };

/** Strings that must never reach a training example as text: chat roles and special/vision tokens. */
const ROLE_MARKER = new RegExp(`\\b(?:${[USER_MARKER, ASSISTANT_MARKER, "SYSTEM:"].map((m) => m.replace(":", "")).join("|")})\\s*:`, "i");
const SPECIAL_TOKEN = /<\/?s>|<unk>|<\|[^|>]{1,40}\|>|\[\/?INST\]|<<\/?SYS>>|<\/?vision>|<eo[fv]>/i;
/** Text that reads as an instruction to the model rather than as part of a book. */
const INSTRUCTION_LIKE = [
  /\b(?:ignore|disregard|forget)\b[^.!?]{0,60}\b(?:above|previous|prior|earlier|instructions?|rules?|prompt)\b/i,
  /\b(?:system prompt|new instructions?|you are now (?:a|an|in)\b)/i,
  /\b(?:answer|respond|reply)\s+(?:only\s+|every question\s+|all questions\s+)?(?:with|by saying)\b/i,
];

export function instructionLike(text: string): boolean {
  return INSTRUCTION_LIKE.some((re) => re.test(text));
}

/** The best share of `needle`'s words found (as a multiset) in any window of `haystack` of needle's length. */
function windowOverlap(haystack: readonly string[], needle: readonly string[]): number {
  if (needle.length === 0) return 0;
  const want = new Map<string, number>();
  for (const w of needle) want.set(w, (want.get(w) ?? 0) + 1);
  const have = new Map<string, number>();
  let hits = 0;
  let best = 0;
  const size = needle.length;
  for (let i = 0; i < haystack.length; i += 1) {
    const add = haystack[i] as string;
    const n = (have.get(add) ?? 0) + 1;
    have.set(add, n);
    if (n <= (want.get(add) ?? 0)) hits += 1;
    if (i >= size) {
      const drop = haystack[i - size] as string;
      const m = have.get(drop) as number;
      if (m <= (want.get(drop) ?? 0)) hits -= 1;
      have.set(drop, m - 1);
    }
    best = Math.max(best, hits);
  }
  return best / size;
}

/**
 * Checks one pair against its chunk: non-empty fields, a short answer, no role markers or special
 * tokens, no instruction-like question or evidence (a passage that tries to steer the model must not
 * become training data), evidence that is a span of the chunk (after normalisation, or ≥
 * minEvidenceOverlap of its words in one window), an answer found in the evidence (span, or ≥
 * minAnswerOverlap of its content words) and in the chunk, and a question that does not contain its answer.
 * Returns the pair trimmed.
 */
export function checkPair(proposed: QaPair, chunkText: string, options: GroundingOptions = DEFAULT_GROUNDING): Check {
  const pair: QaPair = { question: proposed.question.trim(), answer: proposed.answer.trim(), evidence: proposed.evidence.trim() };
  for (const field of ["question", "answer", "evidence"] as const) {
    if (wordsOf(pair[field]).length === 0) return { ok: false, reason: `empty: the ${field} has no words` };
  }
  for (const field of ["question", "answer", "evidence"] as const) {
    const text = pair[field];
    const role = ROLE_MARKER.exec(text);
    if (role) return { ok: false, reason: `role marker: the ${field} contains ${JSON.stringify(role[0])}, which is part of the chat template` };
    const special = SPECIAL_TOKEN.exec(text);
    if (special) return { ok: false, reason: `special token: the ${field} contains ${JSON.stringify(special[0])}` };
  }
  const answerWords = wordsOf(pair.answer);
  if (answerWords.length > options.maxAnswerWords) return { ok: false, reason: `long answer: ${answerWords.length} words (at most ${options.maxAnswerWords})` };
  for (const field of ["question", "evidence", "answer"] as const) {
    if (instructionLike(pair[field]))
      return { ok: false, reason: `instruction-like: the ${field} reads as an instruction to the model, not as the book: ${preview(pair[field], 80)}` };
  }
  const chunkWords = wordsOf(chunkText);
  const evidenceWords = wordsOf(pair.evidence);
  const evidenceIsSpan = normalize(chunkText).includes(normalize(pair.evidence)) || containsWords(chunkWords, evidenceWords);
  if (!evidenceIsSpan) {
    const overlap = windowOverlap(chunkWords, evidenceWords);
    if (overlap < options.minEvidenceOverlap) {
      return {
        ok: false,
        reason: `unsupported: the evidence is not in the chunk (${Math.round(overlap * 100)}% of its words in one place): ${preview(pair.evidence, 80)}`,
      };
    }
  }
  if (!containsWords(evidenceWords, answerWords)) {
    const answerContent = contentWords(pair.answer);
    const evidenceSet = new Set(evidenceWords);
    const share = answerContent.length === 0 ? 0 : answerContent.filter((w) => evidenceSet.has(w)).length / answerContent.length;
    if (share < options.minAnswerOverlap) return { ok: false, reason: `unsupported: the answer is not in the evidence: ${preview(pair.answer, 60)}` };
  }
  if (!containsWords(chunkWords, answerWords) && windowOverlap(chunkWords, answerWords) < options.minAnswerOverlap) {
    return { ok: false, reason: `unsupported: the answer is not in the chunk: ${preview(pair.answer, 60)}` };
  }
  if (containsWords(wordsOf(pair.question), answerWords)) return { ok: false, reason: `trivial: the question contains its answer ${preview(pair.answer, 60)}` };
  return { ok: true, pair };
}

/** The normalised form under which two questions count as the same (duplicates). */
export function questionKey(question: string): string {
  return wordsOf(question).join(" ");
}

/**
 * Is the question ambiguous in `context` (the concatenated chunks an example puts before it)? It
 * is when some sentence of the context matches the question as well as its evidence does (≥ 80%
 * of the content words of the question, or of its quote when it quotes the text; at least 3 of
 * them, answer words left out) but does not contain
 * the answer: a reader of the long context could answer from there and be wrong. Returns the
 * reject reason, or null.
 */
export function ambiguity(pair: QaPair, context: string): string | null {
  const answerWords = wordsOf(pair.answer);
  const answerSet = new Set(answerWords);
  // A question that quotes the text (a cloze, as the extractive rule writes) is about its quote.
  const quoted = /["“](.{12,})["”]/s.exec(pair.question)?.[1];
  const questionWords = [...new Set(contentWords(quoted ?? pair.question))].filter((w) => !answerSet.has(w));
  if (questionWords.length < 3) return null;
  for (const sentence of sentencesOf(context)) {
    const words = wordsOf(sentence.text);
    const set = new Set(words);
    const hits = questionWords.filter((w) => set.has(w)).length;
    if (hits / questionWords.length < 0.8) continue;
    if (containsWords(words, answerWords)) continue;
    return `ambiguous: another sentence of the long context matches the question without its answer: ${preview(sentence.text, 80)}`;
  }
  return null;
}
