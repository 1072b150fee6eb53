/**
 * An OpenAI-compatible chat-completions client (vLLM, llama.cpp server, Ollama, OpenAI): a sliding
 * window of at most `concurrency` requests in flight (p-limit), a timeout per attempt, retries with
 * exponential backoff and jitter on 429 (Retry-After honoured), 408, 5xx, connection errors and
 * timeouts, no retry on other 4xx (the request itself is at fault: the answer is "refused" with the
 * server's message), and a circuit breaker that fails every request once `breakerFailures`
 * attempts in a row failed, so a dead server stops the step instead of spinning.
 *
 * Requests go through node:http(s) with a keep-alive agent rather than the `openai` SDK (whose
 * retries and timeouts would stack on these) or fetch (undici): on loopback, fetch cost 3× the
 * CPU per request, which capped concurrency 32 well below the ideal (docs/dependencies.md).
 * The API key only ever goes into the Authorization header; server messages are scrubbed of it.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { silentLogger, type Logger } from "@lwm/core";
import { preview } from "../prompt.js";
import { backoffDelay, retryAfterMs, type BackoffOptions } from "./backoff.js";
import type { CachedAnswer } from "./cache.js";

export interface ChatClientOptions {
  /** e.g. "http://127.0.0.1:8000/v1"; requests go to `${baseUrl}/chat/completions`. */
  baseUrl: string;
  /** The key's value (read from the environment by the caller); undefined sends no Authorization header. */
  apiKey: string | undefined;
  concurrency: number;
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  backoff: BackoffOptions;
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
  /** Consecutive failed attempts (across all requests) that open the breaker. */
  breakerFailures: number;
  random?: () => number;
  logger?: Logger;
}

/** The body of a chat-completions request. */
export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  [parameter: string]: unknown;
}

/** A completion or a refusal (cacheable), or no answer after every retry (not cached). */
export type ChatResult = CachedAnswer | { kind: "unanswered"; reason: string };

/** The whole backend is unusable (breaker open, key refused, no such model or route): the step stops. */
export class ChatBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChatBackendError";
  }
}

const Completion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable().optional() }), finish_reason: z.string().nullable().optional() })).min(1),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish(),
});

type RetryCounter = "timeouts" | "connectionErrors" | "serverErrors" | "rateLimited" | "badBodies";

/** One attempt's outcome. */
type Attempt =
  | { kind: "answer"; answer: CachedAnswer }
  | { kind: "retry"; error: string; counter: RetryCounter; retryAfterMs: number | null }
  | { kind: "fatal"; error: string };

export class ChatClient {
  private readonly limit: LimitFunction;
  private consecutiveFailures = 0;
  private open: string | null = null;
  private readonly logger: Logger;
  private readonly random: () => number;
  readonly counts = {
    requests: 0,
    completions: 0,
    refused: 0,
    retries: 0,
    timeouts: 0,
    connectionErrors: 0,
    serverErrors: 0,
    rateLimited: 0,
    badBodies: 0,
    unanswered: 0,
    promptTokens: 0,
    completionTokens: 0,
  };

  private readonly url: URL;
  private readonly agent: HttpAgent;

  constructor(private readonly options: ChatClientOptions) {
    this.limit = pLimit(Math.max(1, options.concurrency));
    this.url = new URL(`${options.baseUrl.replace(/\/+$/, "")}/chat/completions`);
    // Keep-alive connections, one per request in flight: no TCP/TLS handshake per request.
    this.agent = new (this.url.protocol === "https:" ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: Math.max(1, options.concurrency) });
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  /** Requests waiting for a slot in the window. */
  get pending(): number {
    return this.limit.pendingCount;
  }

  /**
   * Sends one request, retrying as the policy says. Resolves to the answer, or "unanswered" after
   * the last retry; rejects with ChatBackendError when the breaker is open or the server refuses
   * the key, the route or the model.
   */
  async complete(request: ChatRequest): Promise<ChatResult> {
    let last = "";
    for (let retry = 0; ; retry += 1) {
      const attempt = await this.limit(() => this.attempt(request));
      if (attempt.kind === "answer") return attempt.answer;
      if (attempt.kind === "fatal") throw new ChatBackendError(attempt.error);
      last = attempt.error;
      this.counts[attempt.counter] += 1;
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= this.options.breakerFailures && this.open === null) {
        this.open = `circuit breaker open: ${this.consecutiveFailures} attempts in a row failed against ${this.options.baseUrl}; last: ${last}`;
        this.logger.error(this.open);
      }
      if (this.open !== null) throw new ChatBackendError(this.open);
      if (retry >= this.options.maxRetries) {
        this.counts.unanswered += 1;
        return { kind: "unanswered", reason: `unanswered: no answer after ${retry + 1} attempts; last: ${last}` };
      }
      const wait =
        attempt.retryAfterMs !== null ? Math.min(attempt.retryAfterMs, this.options.maxRetryAfterMs) : backoffDelay(retry, this.options.backoff, this.random);
      this.counts.retries += 1;
      this.logger.debug(`retry ${retry + 1} in ${Math.round(wait)} ms after ${last}`);
      await sleep(wait);
    }
  }

  private async attempt(request: ChatRequest): Promise<Attempt> {
    if (this.open !== null) return { kind: "fatal", error: this.open };
    this.counts.requests += 1;
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      ({ status, text, retryAfter } = await this.post(JSON.stringify(request), headers, signal));
    } catch (err) {
      if (signal.aborted) return { kind: "retry", error: `timeout: no answer within ${this.options.timeoutMs} ms`, counter: "timeouts", retryAfterMs: null };
      const e = err as NodeJS.ErrnoException;
      return { kind: "retry", error: `connection error: ${e.code ?? e.message}`, counter: "connectionErrors", retryAfterMs: null };
    }
    if (status === 200) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return {
          kind: "retry",
          error: `bad response body: HTTP 200 that is not JSON: ${preview(this.scrub(text), 80)}`,
          counter: "badBodies",
          retryAfterMs: null,
        };
      }
      const completion = Completion.safeParse(json);
      if (!completion.success)
        return {
          kind: "retry",
          error: `bad response body: HTTP 200 without choices[0].message: ${preview(this.scrub(text), 80)}`,
          counter: "badBodies",
          retryAfterMs: null,
        };
      const choice = completion.data.choices[0] as z.infer<typeof Completion>["choices"][number];
      const usage = completion.data.usage;
      const answer: CachedAnswer = {
        kind: "completion",
        content: choice.message.content ?? "",
        finishReason: choice.finish_reason ?? "unknown",
        promptTokens: Math.max(0, Math.round(usage?.prompt_tokens ?? 0)),
        completionTokens: Math.max(0, Math.round(usage?.completion_tokens ?? 0)),
      };
      this.consecutiveFailures = 0;
      this.counts.completions += 1;
      this.counts.promptTokens += answer.promptTokens;
      this.counts.completionTokens += answer.completionTokens;
      return { kind: "answer", answer };
    }
    // Only error bodies are searched for a message (a 200 is parsed once, above).
    const message = this.scrub(serverMessage(text));
    if (status === 429) return { kind: "retry", error: `rate limited: HTTP 429 ${message}`, counter: "rateLimited", retryAfterMs: retryAfterMs(retryAfter) };
    if (status === 408 || status >= 500)
      return {
        kind: "retry",
        error: `server error: HTTP ${status} ${message}`,
        counter: "serverErrors",
        retryAfterMs: status === 503 ? retryAfterMs(retryAfter) : null,
      };
    if (status === 401 || status === 403)
      return { kind: "fatal", error: `the server refused the API key (HTTP ${status}) at ${this.options.baseUrl}: ${message}` };
    if (status === 404)
      return { kind: "fatal", error: `HTTP 404 from ${this.options.baseUrl}/chat/completions (wrong baseUrl or unknown model "${request.model}"): ${message}` };
    // 400 (e.g. the prompt is longer than the model's context), 413, 422 …: this request will never
    // succeed; the chunk is rejected with the server's words.
    this.consecutiveFailures = 0;
    this.counts.refused += 1;
    return { kind: "answer", answer: { kind: "refused", status, message } };
  }

  /** One POST to <baseUrl>/chat/completions over a keep-alive connection; the whole body as text. */
  private post(body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; text: string; retryAfter: string | null }> {
    return new Promise((resolve, reject) => {
      const request = (this.url.protocol === "https:" ? httpsRequest : httpRequest)(
        this.url,
        { method: "POST", agent: this.agent, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, signal },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const retryAfter = response.headers["retry-after"];
            resolve({
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            });
          });
          response.on("error", reject);
          response.on("aborted", () => reject(new Error("the response was cut off")));
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** The key must not reach a log, a reject or a cache file, even when a server echoes it back. */
  private scrub(text: string): string {
    const key = this.options.apiKey;
    return key && key.length >= 4 ? text.split(key).join("[api key]") : text;
  }
}

/** The error message of an OpenAI-style error body ({"error": {"message"}}), else the body's start. */
function serverMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof json.error === "string") return json.error;
    if (json.error && typeof json.error.message === "string") return json.error.message;
    if (typeof json.message === "string") return json.message;
  } catch {
    // not JSON: fall through
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}
