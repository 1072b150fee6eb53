import { z } from "zod";
import { strictObject } from "./strict.js";

/** Sampling settings of a model generator (part of every QA unit key and QA record). */
export const Sampling = z.discriminatedUnion("mode", [
  strictObject({ mode: z.literal("greedy"), maxNewTokens: z.number().int().positive().default(384) }),
  strictObject({
    mode: z.literal("top-p"),
    temperature: z.number().positive().max(2).default(0.7),
    topP: z.number().gt(0).max(1).default(0.9),
    seed: z.number().int().default(0),
    maxNewTokens: z.number().int().positive().default(384),
  }),
]);
export type Sampling = z.infer<typeof Sampling>;

const GREEDY: Sampling = { mode: "greedy", maxNewTokens: 384 };

/** Which model writes the QA pairs (packages/qa: one Generator interface, three backends). */
export const QaGeneratorConfig = z.discriminatedUnion("kind", [
  /** Deterministic, model-free cloze questions (the default; smoke runs and the sample). */
  strictObject({ kind: z.literal("extractive") }),
  /** Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, OpenAI). */
  strictObject({
    kind: z.literal("openai"),
    /** e.g. "http://127.0.0.1:8000/v1" (requests go to <baseUrl>/chat/completions). */
    baseUrl: z.url({ protocol: /^https?$/ }),
    model: z.string().min(1),
    /** Name of the environment variable holding the API key (its value is never written anywhere). */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
      .optional(),
    /** Requests in flight at once (a sliding window). */
    concurrency: z.number().int().positive().max(1024).default(8),
    timeoutMs: z.number().int().positive().default(120_000),
    maxRetries: z.number().int().nonnegative().default(6),
    backoffBaseMs: z.number().int().positive().default(500),
    backoffMaxMs: z.number().int().positive().default(30_000),
    maxRetryAfterMs: z.number().int().positive().default(120_000),
    /** Failed attempts in a row (across all requests) after which the step stops. */
    breakerFailures: z.number().int().positive().default(20),
    /** Ask for `response_format: {type: "json_object"}` (turn off for servers without it). */
    jsonMode: z.boolean().default(true),
    sampling: Sampling.default(GREEDY),
  }),
  /** A checkpoint that `lwm train` wrote, run by the trainer's engine (prefill + KV-cache decoding). */
  strictObject({
    kind: z.literal("local"),
    /** The checkpoint folder (relative to the recipe's folder). */
    checkpoint: z.string().min(1),
    /** Ring workers for each prompt's forward pass. */
    workers: z.number().int().positive().default(1),
    sampling: Sampling.default(GREEDY),
  }),
]);
export type QaGeneratorConfig = z.infer<typeof QaGeneratorConfig>;

/**
 * Synthetic long-context QA (lwm-spec §6): the documents of books sources cut into chunks, QA
 * pairs written per chunk, adjacent chunks concatenated up to a stage's seqLen with their
 * questions in chat form. Stages mix it in by its name like any source.
 */
export const QaSource = strictObject({
  kind: z.literal("qa"),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  /** Books sources whose documents are chunked. */
  from: z.array(z.string().min(1)).min(1),
  generator: QaGeneratorConfig.default({ kind: "extractive" }),
  /** Chunk length in tokens (cut at sentence ends); LWM used 1000. */
  chunkTokens: z.number().int().min(32).default(1000),
  /** QA pairs asked per chunk. */
  qaPerChunk: z.number().int().positive().max(16).default(1),
  /** Questions appended to each long-context example (fewer when its chunks have fewer). */
  questionsPerExample: z.number().int().positive().max(64).default(1),
  /** Seeds the choice of questions per example. */
  seed: z.number().int().default(0),
  /**
   * After the mechanical grounding check, ask the generator's own backend (openai or local) whether
   * each pair's answer is supported by its chunk and answers its question (packages/qa judge.ts);
   * a pair it does not accept is rejected `judge …`. Off by default: one more request per pair.
   */
  judge: z.boolean().default(false),
});
export type QaSource = z.infer<typeof QaSource>;

/** The judge's answer about one pair (the reply it is asked for, checked with zod). */
export const JudgeVerdict = z.object({
  /** The answer is stated in the passage. */
  supported: z.boolean(),
  /** The answer answers the question that was asked. */
  answersQuestion: z.boolean(),
  /** One short sentence: why. */
  reason: z.string(),
});
export type JudgeVerdict = z.infer<typeof JudgeVerdict>;

/** One accepted QA pair as the qa step stores it (work/qa/units/<key>/qa.jsonl). */
export const QaRecord = z.object({
  qaId: z.string().regex(/^[0-9a-f]{32}$/),
  documentId: z.string(),
  chunkId: z.string(),
  pairIndex: z.number().int().nonnegative(),
  question: z.string().min(1),
  answer: z.string().min(1),
  evidence: z.string().min(1),
  generator: z.object({
    kind: z.enum(["extractive", "openai", "local"]),
    model: z.string(),
    baseUrl: z.string().nullable(),
    promptVersion: z.string(),
    sampling: Sampling.nullable(),
    /** The judge's prompt version when the source has `judge: true` (absent otherwise). */
    judge: z.string().optional(),
  }),
  /** What the judge said about this pair (absent without a judge). */
  verdict: JudgeVerdict.optional(),
});
export type QaRecord = z.infer<typeof QaRecord>;
