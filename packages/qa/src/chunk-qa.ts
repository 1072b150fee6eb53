import { exampleIdOf, stableStringify, type JsonValue } from "@lwm/core";
import type { JudgeVerdict } from "@lwm/schemas";
import type { Chunk, Generation, Generator, GeneratorIdentity, JudgeOutcome, QaPair } from "./generator.js";
import { checkPair, DEFAULT_GROUNDING, questionKey, type Check, type GroundingOptions } from "./grounding.js";
import { qaIdentity, verdictRejection } from "./judge.js";

/** An accepted pair with where it came from and who wrote it. */
export interface QaRecord extends QaPair {
  /** exampleIdOf("qa", chunk id, pair index, generator identity, question, answer). */
  qaId: string;
  chunkId: string;
  /** 0-based index among the pairs asked for this chunk. */
  pairIndex: number;
  generator: GeneratorIdentity;
  /** What the judge said (only when the source has a judge). */
  verdict?: JudgeVerdict;
}

/** A requested pair that will not be trained on, and why. */
export interface QaReject {
  chunkId: string;
  pairIndex: number;
  reason: string;
}

export interface ChunkQa {
  accepted: QaRecord[];
  rejected: QaReject[];
}

export interface QaOptions {
  grounding?: GroundingOptions;
  /** Ask the generator's backend to judge every pair that passed the grounding check (judge.ts). */
  judge?: boolean;
}

/** The judge's outcomes by "chunk id/pair index". */
export type Verdicts = ReadonlyMap<string, JudgeOutcome>;
const verdictKey = (chunkId: string, pairIndex: number) => `${chunkId}/${pairIndex}`;

/**
 * The pairs of a run of chunks (one document, in order): every chunk is asked at once (the
 * generator's own window bounds what is in flight); each asked pair is checked for grounding
 * once; with a judge, every pair that passes is then judged, all at once too; then the answers are
 * decided in chunk order, so duplicates are decided the same way whatever order the answers came
 * back in.
 */
export async function qaForChunks(generator: Generator, chunks: readonly Chunk[], pairs: number, options: QaOptions = {}): Promise<ChunkQa> {
  const grounding = options.grounding ?? DEFAULT_GROUNDING;
  const generations = await Promise.all(chunks.map((chunk) => generator.generate(chunk, pairs)));
  const checks = chunks.map((chunk, i) => groundGeneration(chunk, pairs, generations[i] as Generation, grounding));
  const identity = qaIdentity(generator.identity, options.judge ?? false);
  const verdicts = options.judge ? await judgeAll(generator, chunks, checks) : undefined;
  const seen = new Map<string, string>();
  const out: ChunkQa = { accepted: [], rejected: [] };
  chunks.forEach((chunk, i) => {
    const decided = decidePairs(identity, chunk, checks[i] as Check[], seen, verdicts);
    out.accepted.push(...decided.accepted);
    out.rejected.push(...decided.rejected);
  });
  return out;
}

/** The judge's outcome for every asked pair that passed the grounding check (`checks[i]` are chunk i's). */
async function judgeAll(generator: Generator, chunks: readonly Chunk[], checks: readonly (readonly Check[])[]): Promise<Verdicts> {
  const judge = generator.judge?.bind(generator);
  if (judge === undefined) throw new Error(`the ${generator.identity.kind} generator cannot judge (only model backends can)`);
  const asked: Promise<[string, JudgeOutcome]>[] = [];
  chunks.forEach((chunk, i) => {
    (checks[i] as Check[]).forEach((check, k) => {
      if (check.ok) asked.push(judge(chunk, check.pair).then((outcome) => [verdictKey(chunk.id, k), outcome]));
    });
  });
  return new Map(await Promise.all(asked));
}

/**
 * Each of the `pairs` pairs asked about one chunk through the grounding check: the trimmed pair,
 * or why it is rejected (a failed generation rejects them all; a reply with fewer pairs rejects the
 * missing ones; extra pairs are ignored).
 */
function groundGeneration(chunk: Chunk, pairs: number, generation: Generation, grounding: GroundingOptions): Check[] {
  return Array.from({ length: pairs }, (_, k): Check => {
    if (!generation.ok) return { ok: false, reason: generation.reason };
    const proposal = generation.pairs[k];
    if (proposal === undefined) return { ok: false, reason: `missing: the reply had ${generation.pairs.length} of ${pairs} pairs` };
    if ("reject" in proposal) return { ok: false, reason: proposal.reject };
    return checkPair(proposal.pair, chunk.text, grounding);
  });
}

/**
 * What becomes of each of the `pairs` pairs asked about one chunk: accepted, or rejected with its
 * reason (a reply with fewer pairs rejects the missing ones; extra pairs are ignored). `seen` holds
 * the question keys already accepted in the same document: a repeated question is a duplicate.
 * With `verdicts` (a judge), a grounded pair also needs the judge's acceptance.
 */
export function judgeGeneration(
  identity: GeneratorIdentity,
  chunk: Chunk,
  pairs: number,
  generation: Generation,
  seen: Map<string, string>,
  grounding: GroundingOptions = DEFAULT_GROUNDING,
  verdicts?: Verdicts,
): ChunkQa {
  return decidePairs(identity, chunk, groundGeneration(chunk, pairs, generation, grounding), seen, verdicts);
}

/** judgeGeneration after the grounding check: `checks[k]` is pair k's. */
function decidePairs(identity: GeneratorIdentity, chunk: Chunk, checks: readonly Check[], seen: Map<string, string>, verdicts?: Verdicts): ChunkQa {
  const accepted: QaRecord[] = [];
  const rejected: QaReject[] = [];
  const identityKey = stableStringify(identity as unknown as JsonValue);
  checks.forEach((check, k) => {
    if (!check.ok) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: check.reason });
      return;
    }
    let verdict: JudgeVerdict | undefined;
    if (verdicts !== undefined) {
      const outcome = verdicts.get(verdictKey(chunk.id, k));
      if (outcome === undefined) throw new Error(`no judge outcome for pair ${k} of chunk ${chunk.id}`);
      const rejection = outcome.ok ? verdictRejection(outcome.verdict) : outcome.reason;
      if (rejection !== null) {
        rejected.push({ chunkId: chunk.id, pairIndex: k, reason: rejection });
        return;
      }
      if (outcome.ok) verdict = outcome.verdict;
    }
    const key = questionKey(check.pair.question);
    const first = seen.get(key);
    if (first !== undefined) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: `duplicate: the same question as ${first}` });
      return;
    }
    seen.set(key, `pair ${k} of chunk ${chunk.id}`);
    accepted.push({
      ...check.pair,
      qaId: exampleIdOf("qa", chunk.id, k, identityKey, check.pair.question, check.pair.answer),
      chunkId: chunk.id,
      pairIndex: k,
      generator: identity,
      ...(verdict ? { verdict } : {}),
    });
  });
  return { accepted, rejected };
}
