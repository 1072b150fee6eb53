import { sha256Hex, stableStringify, type JsonValue, type Logger, Progress } from "@lwm/core";
import type { Sampling } from "@lwm/schemas";
import type { Chunk, Generation, Generator, GeneratorIdentity, JudgeOutcome, QaPair } from "../generator.js";
import { judgeMessages, verdictOfReply } from "../judge.js";
import { generationOfReply, PROMPT_VERSION, qaMessages } from "../prompt.js";
import { RequestCache } from "./cache.js";
import { ChatClient, type ChatClientOptions, type ChatRequest, type ChatResult } from "./client.js";

export interface OpenAIGeneratorOptions extends Omit<ChatClientOptions, "logger"> {
  model: string;
  sampling: Sampling;
  /** Ask for a JSON object (`response_format: {type: "json_object"}`); servers that lack it can turn it off. */
  jsonMode: boolean;
  /** The request cache's folder; null = no cache. */
  cacheDir: string | null;
  logger?: Logger;
}

/** The request parameters besides model and messages (they are part of the cache key). */
function parametersOf(sampling: Sampling, jsonMode: boolean): Record<string, JsonValue> {
  const common: Record<string, JsonValue> = { max_tokens: sampling.maxNewTokens, n: 1, ...(jsonMode ? { response_format: { type: "json_object" } } : {}) };
  return sampling.mode === "greedy"
    ? { ...common, temperature: 0 }
    : { ...common, temperature: sampling.temperature, top_p: sampling.topP, seed: sampling.seed };
}

/** hash(model, messages, parameters): equal requests share one cache entry whatever the server. */
export function requestKey(request: ChatRequest): string {
  return sha256Hex(stableStringify(request as unknown as JsonValue));
}

/**
 * The openai backend: one chat-completions request per chunk asking for `pairs` pairs (prompt.ts),
 * answered from the request cache when it was answered before.
 */
export class OpenAIGenerator implements Generator {
  readonly identity: GeneratorIdentity;
  private readonly client: ChatClient;
  private readonly cache: RequestCache | null;
  private readonly parameters: Record<string, JsonValue>;
  private cacheHits = 0;
  private judgeRequests = 0;
  private progress: Progress | null = null;

  constructor(private readonly options: OpenAIGeneratorOptions) {
    this.identity = { kind: "openai", model: options.model, baseUrl: options.baseUrl, promptVersion: PROMPT_VERSION, sampling: options.sampling };
    this.client = new ChatClient({ ...options, ...(options.logger ? { logger: options.logger } : {}) });
    this.cache = options.cacheDir === null ? null : new RequestCache(options.cacheDir);
    this.parameters = parametersOf(options.sampling, options.jsonMode);
  }

  /** Periodic progress lines over `total` chunks: requests/s, ETA, cache hits and retries. */
  startProgress(total: number, logger: Logger, intervalMs: number): void {
    this.progress = new Progress({
      unit: "requests",
      total,
      logger,
      label: `qa ${this.options.model}`,
      intervalMs,
      format: (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2)),
      suffix: () => `(${this.cacheHits} from cache, ${this.client.counts.retries} retries, ${this.client.pending} waiting)`,
    });
  }

  request(chunk: Chunk, pairs: number): ChatRequest {
    return { model: this.options.model, messages: qaMessages(chunk.text.trim(), pairs), ...this.parameters };
  }

  async generate(chunk: Chunk, pairs: number): Promise<Generation> {
    const answer = await this.ask(this.request(chunk, pairs));
    this.progress?.advance(1);
    if (answer.kind === "unanswered") return { ok: false, reason: answer.reason };
    if (answer.kind === "refused") return { ok: false, reason: `server rejected: HTTP ${answer.status} ${answer.message}` };
    return generationOfReply(answer.content, answer.finishReason, this.options.sampling.maxNewTokens);
  }

  /** The judge's request about one pair: same model, sampling, window, retries and cache as generation. */
  judgeRequest(chunk: Chunk, pair: QaPair): ChatRequest {
    return { model: this.options.model, messages: judgeMessages(chunk.text.trim(), pair), ...this.parameters };
  }

  async judge(chunk: Chunk, pair: QaPair): Promise<JudgeOutcome> {
    this.judgeRequests += 1;
    const answer = await this.ask(this.judgeRequest(chunk, pair));
    if (answer.kind === "unanswered") return { ok: false, reason: `judge ${answer.reason}` };
    if (answer.kind === "refused") return { ok: false, reason: `judge server rejected: HTTP ${answer.status} ${answer.message}` };
    return verdictOfReply(answer.content, answer.finishReason, this.options.sampling.maxNewTokens);
  }

  /** The answer to a request: from the cache when it was answered before, else from the server (then cached). */
  private async ask(request: ChatRequest): Promise<ChatResult> {
    const key = this.cache ? requestKey(request) : "";
    const cached = await this.cache?.get(key);
    if (cached) {
      this.cacheHits += 1;
      return cached;
    }
    const result = await this.client.complete(request);
    if (result.kind !== "unanswered") await this.cache?.put(key, result);
    return result;
  }

  counters(): Record<string, number> {
    return { ...this.client.counts, cacheHits: this.cacheHits, judgeRequests: this.judgeRequests };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
