/**
 * Needle in a haystack (lwm-spec §8): facts (a city's 7-digit number) are hidden at relative depths
 * of a long filler text, the model is asked for them, and an answer counts when the digits appear
 * anywhere in the greedy output. Several needles with distinct cities make the multi-needle variant
 * (§8.5); each is then scored on its own.
 *
 * The wording is a `RetrievalTemplate`: LWM's needle sentence for the evaluation, and a different
 * one for the training retrieval task (pipelines/recall), so that a model scored on the needle has
 * never seen its sentences. Both use the same chat frame and the same layout (`layoutRetrievalPrompt`).
 */
import type { Fact, Needle } from "./facts.js";

/** How a retrieval task words its facts, its question and the end of its prompt. */
export interface RetrievalTemplate {
  readonly name: TemplateName;
  /** The sentence planted in the haystack. */
  fact(f: Fact): string;
  question(asked: readonly Fact[]): string;
  /** Text after the haystack, up to where the answer starts. */
  suffix(asked: readonly Fact[]): string;
  /** The reference answer (what training puts the loss on). */
  answer(asked: readonly Fact[]): string;
}

export const TEMPLATE_NAMES = ["lwm", "recall"] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** The chat frame's opening, shared by the templates (LWM's text-chat format, lwm-spec §1.5). */
export const PROMPT_PREFIX = "You are a helpful assistant. USER: ";

/** "A and B", "A, B, and C": how a question lists its keys and an answer its numbers. */
function listOf(items: readonly string[]): string {
  return items.length <= 2 ? items.join(" and ") : `${items.slice(0, -1).join(", ")}, and ${items.at(-1)}`;
}

function cityList(facts: readonly Fact[]): string {
  return listOf(facts.map((n) => n.city));
}

/** LWM's needle (eval_needle.py): "The special magic {city} number is: {n}". */
export const LWM_NEEDLE: RetrievalTemplate = {
  name: "lwm",
  fact: (n) => `\nThe special magic ${n.city} number is: ${n.number}\n`,
  question: (asked) =>
    asked.length === 1 ? `What is the special magic ${(asked[0] as Fact).city} number?` : `What are the special magic numbers for ${cityList(asked)}?`,
  suffix: (asked) =>
    ` ${LWM_NEEDLE.question(asked)} Don't give information outside the document or repeat your findings. Keep your response short and direct. ASSISTANT: `,
  answer: (asked) => asked.map((f) => f.number).join(", "),
};

/**
 * The training task's wording: no phrase of LWM's needle ("special magic", "number is:"), a
 * different question. The suffix ends at "ASSISTANT:" and the answer is tokenized on its own (as the
 * qa step joins fields), so its first piece carries the space.
 *
 * The answer names only the numbers ("The secret code is 4829103.", "The secret codes are 4829103
 * and 1234567."), in the order asked. Recall 2.x restated each key ("The secret code of Glasgow is
 * 4829103."), which turns the lookup into an induction copy after "Glasgow is"; but then a greedy
 * answer must first write the key, a copy over the whole vocabulary that a 4-layer model had not
 * learned after 2M tokens (0.01 for evaluation cities, docs/tiny-lwm.md, seventh session) while
 * the digit lookup after a right key was at 0.84. Without the echo the key is only matched between
 * question and fact, never written. The question ends right before "ASSISTANT:" so the asked key
 * stays a few tokens from the answer. Scoring is by substring, so the eval counts any form.
 */
export const RECALL_FACT: RetrievalTemplate = {
  name: "recall",
  fact: (f) => `\nRemember that the secret code of ${f.city} is ${f.number}.\n`,
  question: (asked) =>
    asked.length === 1 ? `Which secret code was given for ${(asked[0] as Fact).city}?` : `Which secret codes were given for ${cityList(asked)}?`,
  suffix: (asked) => ` ${RECALL_FACT.question(asked)} ASSISTANT:`,
  answer: (asked) => (asked.length === 1 ? `The secret code is ${(asked[0] as Fact).number}.` : `The secret codes are ${listOf(asked.map((f) => f.number))}.`),
};

export const TEMPLATES: Record<TemplateName, RetrievalTemplate> = { lwm: LWM_NEEDLE, recall: RECALL_FACT };

export function needleText(n: Needle): string {
  return LWM_NEEDLE.fact(n);
}

/** "What is the special magic X number?" or, for several, "What are the special magic numbers for A, B, and C?" */
export function questionText(needles: readonly Needle[]): string {
  return LWM_NEEDLE.question(needles);
}

export function promptSuffix(needles: readonly Needle[]): string {
  return LWM_NEEDLE.suffix(needles);
}

/** Which needles' numbers occur in the model's answer (a substring check, as LWM scores). */
export function scoreAnswer(answer: string, needles: readonly Fact[]): { found: number; correct: boolean } {
  const found = needles.filter((n) => answer.includes(n.number)).length;
  return { found, correct: found === needles.length };
}

/** The tokenizer operations prompt building needs (structurally @lwm/tokenizer's Tokenizer). */
export interface PromptTokenizer {
  readonly bosId: number;
  encode(text: string): Promise<Uint32Array>;
}

export interface NeedlePrompt {
  tokens: Uint32Array;
  needles: Fact[];
  /** Index in `tokens` where each needle's tokens start. */
  needleStarts: number[];
  /** Haystack tokens kept around the needles. */
  haystackTokens: number;
}

/**
 * Depth of each needle: the first at the cell's depth, the others spread evenly after it (wrapping
 * round), so a multi-needle cell still says where its first needle is.
 */
export function needleDepths(depth: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? depth : (depth + i / count) % 1));
}

export interface RetrievalLayout {
  /** Planted facts. */
  facts: readonly Fact[];
  /** Relative depth of each planted fact, 0..1. */
  depths: readonly number[];
  /** The facts the question asks for (default: all, in planting order). */
  asked?: readonly Fact[];
  template: RetrievalTemplate;
  /** The prompt's exact length in tokens. */
  contextTokens: number;
  /** Ids after which a fact may go (sentence ends). */
  sentenceEnds: ReadonlySet<number>;
}

export interface RetrievalFrame {
  prefix: Uint32Array;
  suffix: Uint32Array;
  factTokens: Uint32Array[];
  /** Tokens of a prompt that are not haystack: BOS, prefix, facts, suffix. */
  fixed: number;
}

/** The tokens a prompt adds around its haystack (a producer sizes its haystack with `fixed`). */
export async function encodeRetrievalFrame(
  tok: PromptTokenizer,
  template: RetrievalTemplate,
  facts: readonly Fact[],
  asked: readonly Fact[],
): Promise<RetrievalFrame> {
  const prefix = await tok.encode(PROMPT_PREFIX);
  const suffix = await tok.encode(template.suffix(asked));
  const factTokens = await Promise.all(facts.map((n) => tok.encode(template.fact(n))));
  return { prefix, suffix, factTokens, fixed: 1 + prefix.length + suffix.length + factTokens.reduce((s, t) => s + t.length, 0) };
}

/**
 * Lays out one prompt of exactly `contextTokens` tokens:
 *   BOS, PROMPT_PREFIX, the haystack's first tokens with the facts inserted, the template's suffix.
 * A fact at depth d goes after the sentence end (a token in `sentenceEnds`) at or before d of the
 * way through the kept haystack, as LWM walks back to the previous "."; depth 1 appends at the end.
 */
export async function layoutRetrievalPrompt(tok: PromptTokenizer, haystack: Uint32Array, o: RetrievalLayout): Promise<NeedlePrompt> {
  const { facts, depths, template, contextTokens, sentenceEnds } = o;
  if (depths.length !== facts.length) throw new RangeError(`${facts.length} facts but ${depths.length} depths`);
  for (const d of depths) if (!(d >= 0 && d <= 1)) throw new RangeError(`depth ${d} is not in [0, 1]`);
  const { prefix, suffix, factTokens, fixed } = await encodeRetrievalFrame(tok, template, facts, o.asked ?? facts);
  const budget = contextTokens - fixed;
  if (budget < 0) throw new RangeError(`context length ${contextTokens} is shorter than the prompt template and needles (${fixed} tokens)`);
  if (haystack.length < budget) throw new RangeError(`the haystack has ${haystack.length} tokens, context length ${contextTokens} needs ${budget}`);
  const kept = haystack.subarray(0, budget);

  const cuts = depths.map((d) => {
    let at = Math.floor(d * budget);
    if (at >= budget) return budget;
    while (at > 0 && !sentenceEnds.has(kept[at - 1] as number)) at--;
    return at;
  });
  const order = facts.map((_, i) => i).sort((a, b) => (cuts[a] as number) - (cuts[b] as number) || a - b);
  const tokens = new Uint32Array(contextTokens);
  const needleStarts = new Array<number>(facts.length);
  let w = 0;
  tokens[w++] = tok.bosId;
  tokens.set(prefix, w);
  w += prefix.length;
  let from = 0;
  for (const i of order) {
    const cut = cuts[i] as number;
    tokens.set(kept.subarray(from, cut), w);
    w += cut - from;
    from = cut;
    needleStarts[i] = w;
    tokens.set(factTokens[i] as Uint32Array, w);
    w += (factTokens[i] as Uint32Array).length;
  }
  tokens.set(kept.subarray(from), w);
  w += budget - from;
  tokens.set(suffix, w);
  w += suffix.length;
  if (w !== contextTokens) throw new Error(`internal: laid out ${w} tokens, expected ${contextTokens}`);
  return { tokens, needles: [...facts], needleStarts, haystackTokens: budget };
}

/** One needle-eval prompt: the first needle at `depth`, the others spread after it, all asked for. */
export async function buildNeedlePrompt(
  tok: PromptTokenizer,
  haystack: Uint32Array,
  needles: readonly Needle[],
  depth: number,
  contextTokens: number,
  sentenceEnds: ReadonlySet<number>,
  template: RetrievalTemplate = LWM_NEEDLE,
): Promise<NeedlePrompt> {
  if (!(depth >= 0 && depth <= 1)) throw new RangeError(`depth ${depth} is not in [0, 1]`);
  return layoutRetrievalPrompt(tok, haystack, { facts: needles, depths: needleDepths(depth, needles.length), template, contextTokens, sentenceEnds });
}
