/**
 * Long-context QA examples (lwm-spec §6): adjacent chunks of one document, in order, up to the
 * stage's seqLen, then their questions in LWM's chat form. Fields are tokenized separately and
 * joined at token level, as LWM's text processor joins fields (lwm-spec §3.2):
 *
 *   BOS  "You are a helpful assistant. USER:"  context (the document's own tokens)
 *        "{q1} ASSISTANT:"  {a1}  ["USER: {q2} ASSISTANT:"  {a2} …]  EOS
 *
 * Loss only on the answers' tokens and the EOS; the context, the questions and the markers carry none.
 */
import { exampleIdOf } from "@lwm/core";
import { ambiguity, ASSISTANT_MARKER, CHAT_PREFIX, USER_MARKER } from "@lwm/qa";
import type { Provenance, QaRecord } from "@lwm/schemas";
import { createHash } from "node:crypto";

export interface ContextChunk {
  id: string;
  /** The chunk's range of the document's tokens. */
  tokens: { start: number; end: number };
  text: string;
}

export interface DocumentForAssembly {
  documentId: string;
  /** The book file as the recipe names it (for provenance). */
  file?: string;
  tokens: ArrayLike<number>;
  /** In document order, tiling the tokens. */
  chunks: readonly ContextChunk[];
  /** Accepted pairs, in chunk order. */
  qa: readonly QaRecord[];
}

export interface AssembleOptions {
  seqLen: number;
  questionsPerExample: number;
  seed: number;
  bosId: number;
  eosId: number;
  /** Text → ids without BOS/EOS (the recipe's tokenizer). */
  encode: (text: string) => Promise<Uint32Array>;
}

export interface QaExample {
  exampleId: string;
  tokens: Uint32Array;
  loss: Uint8Array;
  provenance: Extract<Provenance, { kind: "qa" }>;
}

export interface AssemblyReject {
  qaId: string | null;
  chunkId: string;
  reason: string;
}

interface EncodedQa {
  record: QaRecord;
  first: Uint32Array;
  later: Uint32Array;
  answer: Uint32Array;
}

function rankOf(seed: number, runStart: string, qaId: string): string {
  return createHash("sha256").update(`${seed}\u0000${runStart}\u0000${qaId}`).digest("hex");
}

/**
 * The examples of one document for one stage. Runs of adjacent chunks are cut greedily so that the
 * run, the template and the `questionsPerExample` longest question–answer pieces fit seqLen; each
 * run's questions are chosen from its chunks' accepted pairs by a seeded draw (kept in document
 * order), after leaving out pairs that are ambiguous in the run's concatenated text. A run with no
 * usable pair, and a chunk too long for the stage, make no example (rejected with the reason).
 */
export async function assembleDocument(doc: DocumentForAssembly, options: AssembleOptions): Promise<{ examples: QaExample[]; rejects: AssemblyReject[] }> {
  const prefix = await options.encode(`${CHAT_PREFIX} ${USER_MARKER}`);
  const encoded = new Map<string, EncodedQa>();
  for (const record of doc.qa) {
    encoded.set(record.qaId, {
      record,
      first: await options.encode(`${record.question} ${ASSISTANT_MARKER}`),
      later: await options.encode(`${USER_MARKER} ${record.question} ${ASSISTANT_MARKER}`),
      answer: await options.encode(record.answer),
    });
  }
  const costs = [...encoded.values()].map((e) => Math.max(e.first.length, e.later.length) + e.answer.length).sort((a, b) => b - a);
  const reserve = costs.slice(0, options.questionsPerExample).reduce((s, c) => s + c, 0);
  const fixed = 1 + prefix.length + 1 + reserve;
  const qaOfChunk = new Map<string, EncodedQa[]>();
  for (const e of encoded.values()) qaOfChunk.set(e.record.chunkId, [...(qaOfChunk.get(e.record.chunkId) ?? []), e]);

  const examples: QaExample[] = [];
  const rejects: AssemblyReject[] = [];
  const runs: ContextChunk[][] = [];
  let run: ContextChunk[] = [];
  let runTokens = 0;
  for (const chunk of doc.chunks) {
    const n = chunk.tokens.end - chunk.tokens.start;
    if (fixed + n > options.seqLen) {
      if (run.length > 0) runs.push(run);
      run = [];
      runTokens = 0;
      for (const e of qaOfChunk.get(chunk.id) ?? []) {
        rejects.push({
          qaId: e.record.qaId,
          chunkId: chunk.id,
          reason: `too long: a chunk of ${n} tokens with the chat template and questions does not fit seqLen ${options.seqLen}`,
        });
      }
      continue;
    }
    if (fixed + runTokens + n > options.seqLen) {
      runs.push(run);
      run = [];
      runTokens = 0;
    }
    run.push(chunk);
    runTokens += n;
  }
  if (run.length > 0) runs.push(run);

  for (const chunks of runs) {
    const first = chunks[0] as ContextChunk;
    const last = chunks[chunks.length - 1] as ContextChunk;
    const context = chunks.map((c) => c.text).join("");
    const usable: EncodedQa[] = [];
    for (const c of chunks) {
      for (const e of qaOfChunk.get(c.id) ?? []) {
        const problem = ambiguity(e.record, context);
        if (problem === null) usable.push(e);
        else rejects.push({ qaId: e.record.qaId, chunkId: c.id, reason: problem });
      }
    }
    if (usable.length === 0) {
      rejects.push({ qaId: null, chunkId: first.id, reason: `no question: chunks ${first.id}…${last.id} have no accepted, unambiguous QA pair` });
      continue;
    }
    const order = new Map(usable.map((e, i) => [e.record.qaId, i]));
    const chosen = [...usable]
      .sort((a, b) => (rankOf(options.seed, first.id, a.record.qaId) < rankOf(options.seed, first.id, b.record.qaId) ? -1 : 1))
      .slice(0, options.questionsPerExample)
      .sort((a, b) => (order.get(a.record.qaId) as number) - (order.get(b.record.qaId) as number));

    const parts: { ids: ArrayLike<number>; loss: boolean }[] = [
      { ids: [options.bosId], loss: false },
      { ids: prefix, loss: false },
      { ids: Array.prototype.slice.call(doc.tokens, first.tokens.start, last.tokens.end) as number[], loss: false },
    ];
    chosen.forEach((e, i) => {
      parts.push({ ids: i === 0 ? e.first : e.later, loss: false }, { ids: e.answer, loss: true });
    });
    parts.push({ ids: [options.eosId], loss: true });
    const length = parts.reduce((s, p) => s + p.ids.length, 0);
    if (length > options.seqLen) throw new Error(`assembleDocument: an example of ${length} tokens exceeds seqLen ${options.seqLen} (reserve miscounted)`);
    const tokens = new Uint32Array(length);
    const loss = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      tokens.set(p.ids, at);
      if (p.loss) loss.fill(1, at, at + p.ids.length);
      at += p.ids.length;
    }
    const qaIds = chosen.map((e) => e.record.qaId);
    examples.push({
      exampleId: exampleIdOf("qa-chat", doc.documentId, first.tokens.start, last.tokens.end, ...qaIds),
      tokens,
      loss,
      provenance: {
        kind: "qa",
        chunkIds: chunks.map((c) => c.id),
        document: doc.documentId,
        ...(doc.file !== undefined ? { book: doc.file } : {}),
        tokens: { start: first.tokens.start, end: last.tokens.end },
        qaIds,
        model: (chosen[0] as EncodedQa).record.generator.model,
      },
    });
  }
  return { examples, rejects };
}
