import { z } from "zod";
import type { JudgeVerdict, Sampling } from "@lwm/schemas";

/** A passage of a document that a generator writes questions about. */
export interface Chunk {
  /** Content-derived id (see chunks.ts). */
  id: string;
  text: string;
}

/**
 * What a generator is, as the QA records and unit keys name it: a changed model, server, prompt
 * version or sampling setting is a different generator (and regenerates).
 */
export interface GeneratorIdentity {
  kind: "extractive" | "openai" | "local";
  /** Model name (openai), checkpoint folder (local), or the rule's name and version (extractive). */
  model: string;
  /** The server (openai only). */
  baseUrl: string | null;
  /** PROMPT_VERSION for model generators, the rule version for extractive. */
  promptVersion: string;
  sampling: Sampling | null;
  /**
   * JUDGE_PROMPT_VERSION when the source turns the judge on; absent otherwise, so the identity (and
   * every unit key and QA id) of a run without a judge is what it was before the judge existed.
   */
  judge?: string;
}

/** One question–answer pair as a generator proposes it, before grounding. */
export const QaPair = z.object({
  question: z.string(),
  answer: z.string(),
  /** The sentence(s) of the chunk that support the answer, copied from it. */
  evidence: z.string(),
});
export type QaPair = z.infer<typeof QaPair>;

/** One proposed pair, or why the generator's n-th pair is unusable (e.g. malformed). */
export type Proposal = { pair: QaPair } | { reject: string };

/** A generator's answer for one chunk: proposed pairs (checked later), or why there are none. */
export type Generation =
  | {
      ok: true;
      pairs: Proposal[];
      /** The completion text as the model wrote it (for the QA record; empty for extractive). */
      raw: string;
      /** "stop", "length" (cut by the token limit: rejected), … */
      finishReason: string;
    }
  | {
      ok: false;
      /** A reject reason: "malformed: …", "server rejected: HTTP 400 …", "no candidate: …". */
      reason: string;
    };

/** The judge's answer about one pair, or why there is none ("judge malformed: …", "judge unanswered: …"). */
export type JudgeOutcome = { ok: true; verdict: JudgeVerdict } | { ok: false; reason: string };

/**
 * One interface for every backend (extractive, openai, local). `generate` never throws for a bad
 * answer about one chunk (that is a Generation with ok: false); it throws only when the backend as
 * a whole is unusable (circuit breaker open, server refuses the API key), which stops the step.
 */
export interface Generator {
  readonly identity: GeneratorIdentity;
  generate(chunk: Chunk, pairs: number): Promise<Generation>;
  /**
   * Asks the backend's model whether `pair` is supported by `chunk` (judge.ts); model backends
   * only. Like generate, a bad reply is an outcome, not an exception.
   */
  judge?(chunk: Chunk, pair: QaPair): Promise<JudgeOutcome>;
  /** Counters for the step report (requests, retries, cache hits, tokens …). */
  counters(): Record<string, number>;
  close(): Promise<void>;
}
