/**
 * The training retrieval task on one document: the document's tokens are cut into consecutive
 * haystack spans; into each, 1..maxFacts facts of the training pool are planted at random depths
 * (after a sentence end, as the needle eval plants its needles), and 1..all of them are asked for
 * at the end, in the chat frame, in the training template's wording:
 *
 *   BOS "You are a helpful assistant. USER: " haystack-with-facts " Which secret code … ASSISTANT:" answer EOS
 *
 * Loss on the answer and EOS only. The layout is the needle eval's (`layoutRetrievalPrompt`), so the
 * two tasks differ only in wording and values, never in framing.
 */
import { exampleIdOf, hashParts, mulberry32 } from "@lwm/core";
import type { Provenance } from "@lwm/schemas";
import { drawFacts, encodeRetrievalFrame, layoutRetrievalPrompt, RECALL_FACT, type Fact, type PromptTokenizer, type TrainingKeys } from "@lwm/trainer";

export interface RecallOptions {
  seqLen: number;
  maxFacts: number;
  keys: TrainingKeys;
  lengthFraction: readonly [number, number];
  /** When set, the haystack's length is drawn from this range instead of the example's from lengthFraction. */
  haystackTokens?: readonly [number, number] | undefined;
  passes: number;
  seed: number;
  /** Names the stage in the draws, so every stage gets its own cuts and facts. */
  stage: string;
  eosId: number;
  sentenceEnds: ReadonlySet<number>;
}

export interface RecallDocument {
  documentId: string;
  /** The book file as the recipe names it (for provenance). */
  file?: string;
  tokens: Uint32Array;
}

export interface RecallExample {
  exampleId: string;
  tokens: Uint32Array;
  loss: Uint8Array;
  provenance: Extract<Provenance, { kind: "recall" }>;
}

/** A haystack shorter than this is not worth an example (the document's tail). */
const MIN_HAYSTACK_TOKENS = 32;

function drawHaystack(u: () => number, [lo, hi]: readonly [number, number]): number {
  return lo + Math.floor(u() * (hi - lo + 1));
}

/** A 32-bit seed from named parts (document, stage, pass, example). */
function seedOf(...parts: (string | number)[]): number {
  return Number.parseInt(hashParts(parts).slice(0, 8), 16) | 0;
}

export async function recallExamples(tok: PromptTokenizer, doc: RecallDocument, o: RecallOptions): Promise<RecallExample[]> {
  const examples: RecallExample[] = [];
  const template = RECALL_FACT;
  for (let pass = 0; pass < o.passes; pass++) {
    let at = 0;
    let tooShort = 0;
    for (let index = 0; at < doc.tokens.length; index++) {
      const u = mulberry32(seedOf(o.seed, doc.documentId, o.stage, pass, index));
      const [lo, hi] = o.lengthFraction;
      const length = Math.max(64, Math.floor(o.seqLen * (lo + (hi - lo) * u())));
      const planted = 1 + Math.floor(u() * o.maxFacts);
      const facts = drawFacts(planted, seedOf(o.seed, doc.documentId, o.stage, pass, index, "facts"), "train", o.keys);
      const depths = facts.map(() => u());
      const askedCount = 1 + Math.floor(u() * planted);
      const order = facts.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(u() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      const askedIdx = order.slice(0, askedCount).sort((a, b) => a - b);
      const asked: Fact[] = askedIdx.map((i) => facts[i] as Fact);
      const answer = await tok.encode(template.answer(asked));
      const { fixed } = await encodeRetrievalFrame(tok, template, facts, asked);
      const left = doc.tokens.length - at;
      // haystackTokens sizes the book text itself; lengthFraction (drawn above in either case, so its
      // recipes keep their draws) sizes the whole example.
      const frame = fixed + answer.length + 1;
      const room = o.haystackTokens ? Math.min(o.seqLen - frame, drawHaystack(u, o.haystackTokens)) : length - frame;
      if (left < MIN_HAYSTACK_TOKENS) break;
      if (room < MIN_HAYSTACK_TOKENS) {
        // This draw's facts and question leave too little haystack: draw again.
        if (++tooShort > 100) throw new RangeError(`recall: seqLen ${o.seqLen} leaves no room for a haystack after the facts and the question`);
        continue;
      }
      tooShort = 0;
      const haystackTokens = Math.min(left, room);
      const prompt = await layoutRetrievalPrompt(tok, doc.tokens.subarray(at, at + haystackTokens), {
        facts,
        depths,
        asked,
        template,
        contextTokens: fixed + haystackTokens,
        sentenceEnds: o.sentenceEnds,
      });
      const total = prompt.tokens.length + answer.length + 1;
      if (total > o.seqLen) throw new Error(`recall: an example of ${total} tokens exceeds seqLen ${o.seqLen} (template miscounted)`);
      const tokens = new Uint32Array(total);
      tokens.set(prompt.tokens, 0);
      tokens.set(answer, prompt.tokens.length);
      tokens[total - 1] = o.eosId;
      const loss = new Uint8Array(total);
      loss.fill(1, prompt.tokens.length);
      const range = { start: at, end: at + haystackTokens };
      examples.push({
        exampleId: exampleIdOf("recall", doc.documentId, o.stage, pass, range.start, range.end, ...facts.map((f) => `${f.city}:${f.number}`)),
        tokens,
        loss,
        provenance: {
          kind: "recall",
          document: doc.documentId,
          ...(doc.file !== undefined ? { book: doc.file } : {}),
          tokens: range,
          facts: facts.map((f, i) => ({ ...f, depth: depths[i] as number })),
          asked: askedIdx,
        },
      });
      at += haystackTokens;
    }
  }
  return examples;
}
