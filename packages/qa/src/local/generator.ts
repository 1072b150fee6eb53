import { createEngine, decodeFrom, loadCheckpoint, type Engine, type LoadedCheckpoint } from "@lwm/trainer";
import type { Tokenizer } from "@lwm/tokenizer";
import type { Sampling } from "@lwm/schemas";
import type { Chunk, Generation, Generator, GeneratorIdentity } from "../generator.js";
import { generationOfReply, lwmChatPrompt, PROMPT_VERSION, qaMessages } from "../prompt.js";
import { nextTokenRule } from "./sampler.js";

/** The local backend's prompt for a chunk: BOS, then the QA messages in LWM's chat template. */
export async function localPromptIds(tokenizer: Pick<Tokenizer, "encode" | "bosId">, chunk: Chunk, pairs: number): Promise<Uint32Array> {
  const text = await tokenizer.encode(lwmChatPrompt(qaMessages(chunk.text.trim(), pairs)));
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
  private readonly counts = { chunks: 0, promptTokens: 0, completionTokens: 0, prefillMs: 0, decodeMs: 0 };

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
    const { params, dims } = this.checkpoint;
    const { tokenizer, sampling } = this.options;
    const prompt = await localPromptIds(tokenizer, chunk, pairs);
    const t0 = performance.now();
    const prefill = await this.engine.prefill(params, prompt);
    const t1 = performance.now();
    const out = decodeFrom(params, dims, prefill, sampling.maxNewTokens, { eosId: tokenizer.eosId, next: nextTokenRule(sampling, chunk.id) });
    const t2 = performance.now();
    const stopped = out.length > 0 && out[out.length - 1] === tokenizer.eosId;
    this.counts.chunks += 1;
    this.counts.promptTokens += prompt.length;
    this.counts.completionTokens += out.length;
    this.counts.prefillMs += Math.round(t1 - t0);
    this.counts.decodeMs += Math.round(t2 - t1);
    const text = await tokenizer.decode(stopped ? out.subarray(0, out.length - 1) : out);
    return generationOfReply(text, stopped ? "stop" : "length", sampling.maxNewTokens);
  }

  counters(): Record<string, number> {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
