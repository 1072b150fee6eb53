import { exampleIdOf, stableStringify, type JsonValue } from "@lwm/core";
import type { Chunk, Generation, Generator, GeneratorIdentity, QaPair } from "./generator.js";
import { checkPair, DEFAULT_GROUNDING, questionKey, type GroundingOptions } from "./grounding.js";

/** An accepted pair with where it came from and who wrote it. */
export interface QaRecord extends QaPair {
  /** exampleIdOf("qa", chunk id, pair index, generator identity, question, answer). */
  qaId: string;
  chunkId: string;
  /** 0-based index among the pairs asked for this chunk. */
  pairIndex: number;
  generator: GeneratorIdentity;
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

/**
 * The pairs of a run of chunks (one document, in order): every chunk is asked at once (the
 * generator's own window bounds what is in flight), then the answers are judged in chunk order,
 * so duplicates are decided the same way whatever order the answers came back in.
 */
export async function qaForChunks(
  generator: Generator,
  chunks: readonly Chunk[],
  pairs: number,
  grounding: GroundingOptions = DEFAULT_GROUNDING,
): Promise<ChunkQa> {
  const generations = await Promise.all(chunks.map((chunk) => generator.generate(chunk, pairs)));
  const seen = new Map<string, string>();
  const out: ChunkQa = { accepted: [], rejected: [] };
  chunks.forEach((chunk, i) => {
    const judged = judgeGeneration(generator.identity, chunk, pairs, generations[i] as Generation, seen, grounding);
    out.accepted.push(...judged.accepted);
    out.rejected.push(...judged.rejected);
  });
  return out;
}

/**
 * What becomes of each of the `pairs` pairs asked about one chunk: accepted, or rejected with its
 * reason (a reply with fewer pairs rejects the missing ones; extra pairs are ignored). `seen` holds
 * the question keys already accepted in the same document: a repeated question is a duplicate.
 */
export function judgeGeneration(
  identity: GeneratorIdentity,
  chunk: Chunk,
  pairs: number,
  generation: Generation,
  seen: Map<string, string>,
  grounding: GroundingOptions = DEFAULT_GROUNDING,
): ChunkQa {
  const accepted: QaRecord[] = [];
  const rejected: QaReject[] = [];
  if (!generation.ok) {
    for (let k = 0; k < pairs; k += 1) rejected.push({ chunkId: chunk.id, pairIndex: k, reason: generation.reason });
    return { accepted, rejected };
  }
  const identityKey = stableStringify(identity as unknown as JsonValue);
  for (let k = 0; k < pairs; k += 1) {
    const proposal = generation.pairs[k];
    if (proposal === undefined) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: `missing: the reply had ${generation.pairs.length} of ${pairs} pairs` });
      continue;
    }
    if ("reject" in proposal) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: proposal.reject });
      continue;
    }
    const check = checkPair(proposal.pair, chunk.text, grounding);
    if (!check.ok) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: check.reason });
      continue;
    }
    const key = questionKey(check.pair.question);
    const first = seen.get(key);
    if (first !== undefined) {
      rejected.push({ chunkId: chunk.id, pairIndex: k, reason: `duplicate: the same question as ${first}` });
      continue;
    }
    seen.set(key, `pair ${k} of chunk ${chunk.id}`);
    accepted.push({
      ...check.pair,
      qaId: exampleIdOf("qa", chunk.id, k, identityKey, check.pair.question, check.pair.answer),
      chunkId: chunk.id,
      pairIndex: k,
      generator: identity,
    });
  }
  return { accepted, rejected };
}
