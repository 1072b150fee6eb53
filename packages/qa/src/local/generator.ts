import { createEngine, decodeFrom, loadCheckpoint, type Engine, type LoadedCheckpoint } from "@lwm/trainer";
import type { Tokenizer } from "@lwm/tokenizer";
import type { Sampling } from "@lwm/schemas";
import type { Chunk, Generation, Generator, GeneratorIdentity, JudgeOutcome, QaPair } from "../generator.js";
import { judgeMessages, verdictOfReply } from "../judge.js";
import { generationOfReply, lwmChatPrompt, PROMPT_VERSION, qaMessages, type ChatMessage } from "../prompt.js";
import { nextTokenRule } from "./sampler.js";

/** The local backend's prompt for a chunk: BOS, then the QA messages in LWM's chat template. */
export async function localPromptIds(tokenizer: Pick<Tokenizer, "encode" | "bosId">, chunk: Chunk, pairs: number): Promise<Uint32Array> {
  return chatPromptIds(tokenizer, qaMessages(chunk.text.trim(), pairs));
}

/** BOS, then `messages` in LWM's chat template. */
async function chatPromptIds(tokenizer: Pick<Tokenizer, "encode" | "bosId">, messages: readonly ChatMessage[]): Promise<Uint32Array> {
  const text = await tokenizer.encode(lwmChatPrompt(messages));
  const ids = new Uint32Array(text.length + 1);
  ids[0] = tokenizer.bosId;
  ids.set(text, 1);
  return ids;
}

export interface LocalGeneratorOptions {
  /** A checkpoint folder that `lwm train` wrote (or any HF Llama safetensors folder it loads). */
  checkpointDir: string;
  /** How records name the checkpoint (the path as the recipe gives it: no absolute paths in outputs). */
  checkpointLabel: string;
  /** The tokenizer the checkpoint was trained with. */
  tokenizer: Tokenizer;
  sampling: Sampling;
  /** Ring workers for the prompt's forward pass. */
  workers: number;
}

/**
 * The local backend: the prompt (prompt.ts, rendered in LWM's chat template) goes through the
 * trainer's engine once (prefill: the onnxruntime ring), then decoding continues token by token
 * from its KV cache, greedy or top-p with a seed. LWM wrote its chat data with its own model; this
 * lets a checkpoint of this project do the same.
 */
export class LocalGenerator implements Generator {
  readonly identity: GeneratorIdentity;
  private readonly counts = { chunks: 0, judged: 0, promptTokens: 0, completionTokens: 0, prefillMs: 0, decodeMs: 0 };

  private constructor(
    private readonly options: LocalGeneratorOptions,
    private readonly checkpoint: LoadedCheckpoint,
    private readonly engine: Engine,
  ) {
    this.identity = { kind: "local", model: options.checkpointLabel, baseUrl: null, promptVersion: PROMPT_VERSION, sampling: options.sampling };
  }

  static async open(options: LocalGeneratorOptions): Promise<LocalGenerator> {
    const checkpoint = await loadCheckpoint(options.checkpointDir);
    if (options.tokenizer.vocabSize > checkpoint.dims.vocabSize) {
      throw new Error(
        `${options.checkpointDir}: the tokenizer has ${options.tokenizer.vocabSize} ids but the checkpoint's vocab_size is ${checkpoint.dims.vocabSize}`,
      );
    }
    const engine = await createEngine(checkpoint.dims, { workers: options.workers });
    return new LocalGenerator(options, checkpoint, engine);
  }

  async generate(chunk: Chunk, pairs: number): Promise<Generation> {
    const reply = await this.complete(await localPromptIds(this.options.tokenizer, chunk, pairs), chunk.id);
    this.counts.chunks += 1;
    return generationOfReply(reply.text, reply.finishReason, this.options.sampling.maxNewTokens);
  }

  /** The judge's prompt (judge.ts) through the same checkpoint; the draw is seeded per (chunk, question). */
  async judge(chunk: Chunk, pair: QaPair): Promise<JudgeOutcome> {
    const prompt = await chatPromptIds(this.options.tokenizer, judgeMessages(chunk.text.trim(), pair));
    const reply = await this.complete(prompt, `${chunk.id}\njudge\n${pair.question}`);
    this.counts.judged += 1;
    return verdictOfReply(reply.text, reply.finishReason, this.options.sampling.maxNewTokens);
  }

  /** Prefill once, then decode from the KV cache until EOS or maxNewTokens ("length"). */
  private async complete(prompt: Uint32Array, drawKey: string): Promise<{ text: string; finishReason: "stop" | "length" }> {
    const { params, dims } = this.checkpoint;
    const { tokenizer, sampling } = this.options;
    const t0 = performance.now();
    const prefill = await this.engine.prefill(params, prompt);
    const t1 = performance.now();
    const out = decodeFrom(params, dims, prefill, sampling.maxNewTokens, { eosId: tokenizer.eosId, next: nextTokenRule(sampling, drawKey) });
    const t2 = performance.now();
    const stopped = out.length > 0 && out[out.length - 1] === tokenizer.eosId;
    this.counts.promptTokens += prompt.length;
    this.counts.completionTokens += out.length;
    this.counts.prefillMs += Math.round(t1 - t0);
    this.counts.decodeMs += Math.round(t2 - t1);
    const text = await tokenizer.decode(stopped ? out.subarray(0, out.length - 1) : out);
    return { text, finishReason: stopped ? "stop" : "length" };
  }

  counters(): Record<string, number> {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
