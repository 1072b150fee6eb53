import { AdamW, createEngine, initParams, saveCheckpoint, toHfConfig, type LlamaConfig, type TrainRow } from "@lwm/trainer";
import type { Tokenizer } from "@lwm/tokenizer";
import type { Chunk, QaPair } from "../generator.js";
import { localPromptIds } from "../local/generator.js";

/** A tiny Llama on the Llama-2 vocabulary (d=48, 2 layers): memorises a few replies in about a hundred steps. */
export const TINY_QA_CONFIG: LlamaConfig = { vocabSize: 32000, visionVocabSize: 0, dim: 48, layers: 2, heads: 2, ffnDim: 96, normEps: 1e-6, ropeTheta: 10000 };

export interface QaTask {
  chunk: Chunk;
  /** The reply the model learns for the chunk's prompt asking for `pairs.length` pairs. */
  pairs: QaPair[];
}

/**
 * Trains TINY_QA_CONFIG with the trainer's engine until it answers each task's QA prompt (the
 * local backend's prompt: BOS + prompt.ts in LWM's chat template) with the task's pairs as JSON
 * and EOS, loss on the reply only; saves the checkpoint as `lwm train` does.
 */
export async function trainTinyQaModel(
  tokenizer: Tokenizer,
  tasks: readonly QaTask[],
  checkpointDir: string,
): Promise<{ steps: number; loss: number; seqLen: number }> {
  const cfg = TINY_QA_CONFIG;
  const sequences: { tokens: Uint32Array; promptLength: number }[] = [];
  for (const { chunk, pairs } of tasks) {
    const prompt = await localPromptIds(tokenizer, chunk, pairs.length);
    const reply = await tokenizer.encode(JSON.stringify({ pairs }));
    const tokens = new Uint32Array(prompt.length + reply.length + 1);
    tokens.set(prompt);
    tokens.set(reply, prompt.length);
    tokens[tokens.length - 1] = tokenizer.eosId;
    sequences.push({ tokens, promptLength: prompt.length });
  }
  // The ring splits rows into equal blocks: a multiple of 4.
  const seqLen = Math.ceil(Math.max(...sequences.map((s) => s.tokens.length)) / 4) * 4;
  const rows: TrainRow[] = sequences.map(({ tokens, promptLength }) => {
    const row = new Uint32Array(seqLen);
    row.set(tokens);
    const loss = new Uint8Array(seqLen);
    loss.fill(1, promptLength, tokens.length);
    return {
      tokens: row,
      vision: new Uint8Array(seqLen),
      loss,
      cuSeqlens: Int32Array.of(0, tokens.length),
      weightText: Float32Array.of(1 / (tokens.length - promptLength)),
      weightVision: new Float32Array(1),
    };
  });
  const engine = await createEngine(cfg, { workers: 1 });
  try {
    const params = initParams(cfg, 7);
    const adam = new AdamW({ betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0 });
    let loss = Infinity;
    for (let step = 0; step < 400 && loss > 0.03; step++) {
      const r = await engine.forwardBackward(params, rows, rows.length, "text");
      loss = r.loss;
      adam.update(params, r.grads, 1e-2);
    }
    await saveCheckpoint(checkpointDir, {
      params,
      cfg,
      config: toHfConfig(cfg, seqLen, { bosId: tokenizer.bosId, eosId: tokenizer.eosId, padId: 0 }),
      state: {},
    });
    return { steps: adam.step, loss, seqLen };
  } finally {
    await engine.close();
  }
}
