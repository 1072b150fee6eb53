import { z } from "zod";
import { formatZodError } from "@lwm/schemas";
import type { LlamaConfig } from "../model/api.js";

/**
 * config.json in the Hugging Face `LlamaForCausalLM` layout, so `transformers` (and our NumPy
 * reference, trainer/python/llama_ref.py) load the text model as it is.
 *
 * Vision-language checkpoints add LWM's own `VideoLLaMAConfig` fields (lwm-spec §0):
 * `vision_vocab_size` (8448: the size of the second embedding `model.vision_embed_tokens.weight`
 * and of the second head `vision_head.weight`) and `tie_vision_embeddings` (always false).
 * `transformers` keeps unknown keys as attributes and ignores the extra tensors with a warning,
 * so a vision checkpoint still loads as a text-only Llama.
 *
 * `lwm_seq_len` records the context length the checkpoint was trained at (the stage's seq_len),
 * `max_position_embeddings` says the same thing in Hugging Face's words.
 */
export const HfLlamaConfig = z.object({
  architectures: z.array(z.string()).refine((a) => a.includes("LlamaForCausalLM"), "must include LlamaForCausalLM"),
  model_type: z.literal("llama"),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  rms_norm_eps: z.number().positive(),
  rope_theta: z.number().positive().default(10000),
  vocab_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  tie_word_embeddings: z.boolean().default(false),
  hidden_act: z.literal("silu").default("silu"),
  rope_scaling: z.null().optional(),
  attention_bias: z.literal(false).optional(),
  mlp_bias: z.literal(false).optional(),
  bos_token_id: z.number().int().optional(),
  eos_token_id: z.number().int().optional(),
  pad_token_id: z.number().int().nullable().optional(),
  torch_dtype: z.string().optional(),
  vision_vocab_size: z.number().int().nonnegative().optional(),
  tie_vision_embeddings: z.literal(false).optional(),
  lwm_seq_len: z.number().int().positive().optional(),
});
export type HfLlamaConfig = z.infer<typeof HfLlamaConfig>;

export function toHfConfig(cfg: LlamaConfig, seqLen: number, special: { bosId: number; eosId: number; padId: number }): HfLlamaConfig {
  const out: HfLlamaConfig = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: cfg.dim,
    intermediate_size: cfg.ffnDim,
    num_hidden_layers: cfg.layers,
    num_attention_heads: cfg.heads,
    num_key_value_heads: cfg.heads,
    rms_norm_eps: cfg.normEps,
    rope_theta: cfg.ropeTheta,
    vocab_size: cfg.vocabSize,
    max_position_embeddings: seqLen,
    tie_word_embeddings: false,
    hidden_act: "silu",
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: special.bosId,
    eos_token_id: special.eosId,
    pad_token_id: special.padId,
    torch_dtype: "float32",
    lwm_seq_len: seqLen,
  };
  if (cfg.visionVocabSize > 0) {
    out.vision_vocab_size = cfg.visionVocabSize;
    out.tie_vision_embeddings = false;
  }
  return out;
}

/** Parses a config.json (e.g. a downloaded Llama-2 checkpoint's) into model dimensions; `config` is the parsed file, defaults filled in. */
export function fromHfConfig(json: unknown, where: string): { dims: LlamaConfig; seqLen: number; config: HfLlamaConfig } {
  const parsed = HfLlamaConfig.safeParse(json);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, where));
  const c = parsed.data;
  if (c.tie_word_embeddings) throw new Error(`${where}: tie_word_embeddings: tied embeddings are not supported (Llama-2 and LWM are untied)`);
  if (c.num_key_value_heads !== undefined && c.num_key_value_heads !== c.num_attention_heads) {
    throw new Error(`${where}: num_key_value_heads: grouped-query attention (${c.num_key_value_heads} ≠ ${c.num_attention_heads}) is not supported`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) throw new Error(`${where}: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads`);
  return {
    dims: {
      vocabSize: c.vocab_size,
      visionVocabSize: c.vision_vocab_size ?? 0,
      dim: c.hidden_size,
      layers: c.num_hidden_layers,
      heads: c.num_attention_heads,
      ffnDim: c.intermediate_size,
      normEps: c.rms_norm_eps,
      ropeTheta: c.rope_theta,
    },
    seqLen: c.lwm_seq_len ?? c.max_position_embeddings,
    config: c,
  };
}
