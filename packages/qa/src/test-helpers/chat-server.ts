import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { OpenAIGeneratorOptions } from "../openai/generator.js";

/**
 * The openai generator's options against a test server at `baseUrl`: short timeouts and backoff so
 * retries finish quickly, greedy sampling, JSON mode, no API key and no cache unless `over` says.
 * One definition for the tests, the bench and the SIGKILL test's child process (generate-child.mjs).
 */
export function chatGeneratorOptions(baseUrl: string, over: Partial<OpenAIGeneratorOptions> = {}): OpenAIGeneratorOptions {
  return {
    baseUrl,
    model: "test-model",
    apiKey: undefined,
    concurrency: 4,
    timeoutMs: 1500,
    maxRetries: 4,
    backoff: { baseMs: 200, maxMs: 2000 },
    maxRetryAfterMs: 5000,
    breakerFailures: 50,
    sampling: { mode: "greedy", maxNewTokens: 256 },
    jsonMode: true,
    cacheDir: null,
    ...over,
  };
}

/** What the scripted server does with one request. */
export type Reply =
  | { kind: "json"; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: "raw"; status: number; text: string }
  /** Never answers (the client must time out). */
  | { kind: "hang" }
  /** Closes the connection without an answer (ECONNRESET / "other side closed" at the client). */
  | { kind: "reset" };

export interface ReceivedRequest {
  /** ms since the server started. */
  at: number;
  /** The passage between the prompt's markers ("" if none). */
  passage: string;
  /** 1 for the first request with this passage, 2 for the second … */
  attempt: number;
  authorization: string | null;
  body: { model: string; messages: { role: string; content: string }[]; [k: string]: unknown };
}

/** Decides the reply to a request (may wait first: fixed latency, slow answers). */
export type Script = (request: ReceivedRequest) => Reply | Promise<Reply>;

/** A chat-completions 200 body whose message is `content`. */
export function completion(content: string, finishReason = "stop"): Reply {
  return {
    kind: "json",
    status: 200,
    body: {
      id: "chatcmpl-test",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finishReason }],
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
    },
  };
}

/** A 200 whose message is the JSON the prompt asks for. */
export function pairsReply(pairs: { question: string; answer: string; evidence: string }[]): Reply {
  return completion(JSON.stringify({ pairs }));
}

export function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  return { kind: "json", status, body: { error: { message, type: "test" } }, ...(headers ? { headers } : {}) };
}

/** The passage of a QA prompt (prompt.ts), or "". */
export function passageOf(messages: readonly { role: string; content: string }[]): string {
  const user = messages.find((m) => m.role === "user")?.content ?? "";
  const m = /<<<PASSAGE ([0-9a-f]+)>>>\n([\s\S]*)\n<<<END PASSAGE \1>>>/.exec(user);
  return m ? (m[2] as string) : "";
}

/** The question and answer a judge request (judge.ts) asks about, or null for a generation request. */
export function judgedPairOf(messages: readonly { role: string; content: string }[]): { question: string; answer: string } | null {
  const user = messages.find((m) => m.role === "user")?.content ?? "";
  const m = /<<<PAIR ([0-9a-f]+)>>>\n(.*)\n<<<END PAIR \1>>>/.exec(user);
  return m ? (JSON.parse(m[2] as string) as { question: string; answer: string }) : null;
}

/**
 * A real OpenAI-compatible chat-completions server on 127.0.0.1 (an ephemeral port), answering
 * POST /v1/chat/completions as `script` says. Records every request it receives.
 */
export class ChatServer {
  readonly requests: ReceivedRequest[] = [];
  /** Most requests that were in progress at once. */
  maxInFlight = 0;
  /** TCP connections accepted (keep-alive clients open few). */
  connections = 0;
  private inFlight = 0;
  private readonly sockets = new Set<Socket>();
  private readonly attempts = new Map<string, number>();
  private readonly started = Date.now();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(script: Script): Promise<ChatServer> {
    let self: ChatServer | undefined = undefined; // set once listening; requests come only after that
    const server = createServer((req, res) => {
      void (self as ChatServer).handle(req, res, script);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    self = new ChatServer(server, `http://127.0.0.1:${port}/v1`);
    server.on("connection", (socket) => {
      (self as ChatServer).connections += 1;
      (self as ChatServer).sockets.add(socket);
      socket.on("close", () => (self as ChatServer).sockets.delete(socket));
    });
    return self;
  }

  /** Requests received for one passage, in order. */
  requestsFor(passage: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.passage === passage.trim());
  }

  private async handle(req: IncomingMessage, res: ServerResponse, script: Script): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ReceivedRequest["body"];
    const passage = passageOf(body.messages);
    const attempt = (this.attempts.get(passage) ?? 0) + 1;
    this.attempts.set(passage, attempt);
    const received: ReceivedRequest = { at: Date.now() - this.started, passage, attempt, authorization: req.headers.authorization ?? null, body };
    this.requests.push(received);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const reply = await script(received);
      switch (reply.kind) {
        case "hang":
          await new Promise<void>((resolve) => res.on("close", resolve));
          return;
        case "reset":
          req.socket.destroy();
          return;
        case "raw":
          res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.text);
          return;
        case "json":
          res.writeHead(reply.status, { "content-type": "application/json", ...(reply.headers ?? {}) }).end(JSON.stringify(reply.body));
          return;
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
