/**
 * Needle in a haystack (lwm-spec §8): a random 7-digit "special magic number" for a city is hidden
 * at a relative depth of a long filler text, the model is asked for it, and the answer counts when
 * the digits appear anywhere in the greedy output. Several needles with distinct cities make the
 * multi-needle variant (§8.5); each is then scored on its own.
 */
import { uniformSampler } from "../model/rng.js";

/** City names for the needles (LWM draws from a fixed list of about 100). */
export const CITIES: readonly string[] = [
  "Chicago",
  "Yangon",
  "Antananarivo",
  "Colombo",
  "Almaty",
  "Sydney",
  "Mexico City",
  "Seattle",
  "Lagos",
  "Amsterdam",
  "Belgrade",
  "Cairo",
  "Baghdad",
  "Damascus",
  "Kigali",
  "Dakar",
  "Sofia",
  "Victoria",
  "Tashkent",
  "Mumbai",
  "Barcelona",
  "Riyadh",
  "Bangkok",
  "Rio de Janeiro",
  "Caracas",
  "Havana",
  "Nairobi",
  "Lima",
  "Lisbon",
  "Oslo",
  "Helsinki",
  "Reykjavik",
  "Dublin",
  "Edinburgh",
  "Prague",
  "Vienna",
  "Budapest",
  "Warsaw",
  "Kyiv",
  "Tbilisi",
  "Yerevan",
  "Baku",
  "Tehran",
  "Kabul",
  "Karachi",
  "Dhaka",
  "Kathmandu",
  "Hanoi",
  "Manila",
  "Jakarta",
  "Singapore",
  "Kuala Lumpur",
  "Seoul",
  "Tokyo",
  "Osaka",
  "Beijing",
  "Shanghai",
  "Taipei",
  "Ulaanbaatar",
  "Perth",
  "Auckland",
  "Wellington",
  "Honolulu",
  "Anchorage",
  "Vancouver",
  "Toronto",
  "Montreal",
  "Boston",
  "Denver",
  "Houston",
  "Miami",
  "Atlanta",
  "Phoenix",
  "Bogota",
  "Quito",
  "Santiago",
  "Buenos Aires",
  "Montevideo",
  "Asuncion",
  "La Paz",
  "Accra",
  "Abuja",
  "Addis Ababa",
  "Khartoum",
  "Tunis",
  "Algiers",
  "Casablanca",
  "Johannesburg",
  "Cape Town",
  "Harare",
  "Lusaka",
  "Luanda",
  "Kinshasa",
  "Doha",
  "Muscat",
  "Amman",
  "Beirut",
  "Istanbul",
  "Athens",
  "Rome",
];

export interface Needle {
  city: string;
  /** Seven digits, as a string (the thing the model must reproduce). */
  number: string;
}

/** `count` needles with distinct cities and 7-digit numbers, a pure function of `seed`. */
export function drawNeedles(count: number, seed: number): Needle[] {
  if (!Number.isInteger(count) || count < 1 || count > CITIES.length) throw new RangeError(`needles: ${count} is not in 1..${CITIES.length}`);
  const u = uniformSampler(seed);
  const pool = [...CITIES];
  const out: Needle[] = [];
  for (let i = 0; i < count; i++) {
    const j = Math.floor(u() * pool.length);
    const city = pool.splice(j, 1)[0]!;
    out.push({ city, number: String(1_000_000 + Math.floor(u() * 9_000_000)) });
  }
  return out;
}

export function needleText(n: Needle): string {
  return `\nThe special magic ${n.city} number is: ${n.number}\n`;
}

/** "What is the special magic X number?" or, for several, "What are the special magic numbers for A, B, and C?" */
export function questionText(needles: readonly Needle[]): string {
  if (needles.length === 1) return `What is the special magic ${needles[0]!.city} number?`;
  const cities = needles.map((n) => n.city);
  const list = cities.length === 2 ? `${cities[0]} and ${cities[1]}` : `${cities.slice(0, -1).join(", ")}, and ${cities.at(-1)}`;
  return `What are the special magic numbers for ${list}?`;
}

export const PROMPT_PREFIX = "You are a helpful assistant. USER: ";
export function promptSuffix(needles: readonly Needle[]): string {
  return ` ${questionText(needles)} Don't give information outside the document or repeat your findings. Keep your response short and direct. ASSISTANT: `;
}

/** Which needles' numbers occur in the model's answer (a substring check, as LWM scores). */
export function scoreAnswer(answer: string, needles: readonly Needle[]): { found: number; correct: boolean } {
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
  needles: Needle[];
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

/**
 * Lays out one prompt of exactly `contextTokens` tokens:
 *   BOS, PROMPT_PREFIX, the haystack's first tokens with the needles inserted, the question suffix.
 * A needle at depth d goes after the sentence end (a token in `sentenceEnds`) at or before d of the
 * way through the kept haystack, as LWM walks back to the previous "."; depth 1 appends at the end.
 */
export async function buildNeedlePrompt(
  tok: PromptTokenizer,
  haystack: Uint32Array,
  needles: readonly Needle[],
  depth: number,
  contextTokens: number,
  sentenceEnds: ReadonlySet<number>,
): Promise<NeedlePrompt> {
  if (!(depth >= 0 && depth <= 1)) throw new RangeError(`depth ${depth} is not in [0, 1]`);
  const prefix = await tok.encode(PROMPT_PREFIX);
  const suffix = await tok.encode(promptSuffix(needles));
  const needleTokens = await Promise.all(needles.map((n) => tok.encode(needleText(n))));
  const fixed = 1 + prefix.length + suffix.length + needleTokens.reduce((s, t) => s + t.length, 0);
  const budget = contextTokens - fixed;
  if (budget < 0) throw new RangeError(`context length ${contextTokens} is shorter than the prompt template and needles (${fixed} tokens)`);
  if (haystack.length < budget) throw new RangeError(`the haystack has ${haystack.length} tokens, context length ${contextTokens} needs ${budget}`);
  const kept = haystack.subarray(0, budget);

  const depths = needleDepths(depth, needles.length);
  const cuts = depths.map((d) => {
    let at = Math.floor(d * budget);
    if (at >= budget) return budget;
    while (at > 0 && !sentenceEnds.has(kept[at - 1]!)) at--;
    return at;
  });
  const order = needles.map((_, i) => i).sort((a, b) => cuts[a]! - cuts[b]! || a - b);
  const tokens = new Uint32Array(contextTokens);
  const needleStarts = new Array<number>(needles.length);
  let w = 0;
  tokens[w++] = tok.bosId;
  tokens.set(prefix, w);
  w += prefix.length;
  let from = 0;
  for (const i of order) {
    tokens.set(kept.subarray(from, cuts[i]!), w);
    w += cuts[i]! - from;
    from = cuts[i]!;
    needleStarts[i] = w;
    tokens.set(needleTokens[i]!, w);
    w += needleTokens[i]!.length;
  }
  tokens.set(kept.subarray(from), w);
  w += budget - from;
  tokens.set(suffix, w);
  w += suffix.length;
  if (w !== contextTokens) throw new Error(`internal: laid out ${w} tokens, expected ${contextTokens}`);
  return { tokens, needles: [...needles], needleStarts, haystackTokens: budget };
}
