import { describe, expect, it } from "vitest";
import type { LlamaConfig } from "../model/api.js";
import { fromHfConfig, toHfConfig } from "./hf-config.js";

const dims: LlamaConfig = { vocabSize: 32000, visionVocabSize: 0, dim: 4096, layers: 32, heads: 32, ffnDim: 11008, normEps: 1e-6, ropeTheta: 1e6 };
const special = { bosId: 1, eosId: 2, padId: 0 };

describe("config.json (Hugging Face Llama layout)", () => {
  it("writes the fields transformers' LlamaConfig reads, untied, with the stage's θ and length", () => {
    const c = toHfConfig(dims, 32768, special);
    expect(c).toMatchObject({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      vocab_size: 32000,
      max_position_embeddings: 32768,
      tie_word_embeddings: false,
      hidden_act: "silu",
      bos_token_id: 1,
      eos_token_id: 2,
    });
    expect(c.vision_vocab_size).toBeUndefined();
    expect(fromHfConfig(JSON.parse(JSON.stringify(c)), "config.json")).toEqual({ dims, seqLen: 32768, config: c });
  });

  it("adds LWM's vision fields for a vision-language model", () => {
    const c = toHfConfig({ ...dims, visionVocabSize: 8448 }, 1024, special);
    expect(c.vision_vocab_size).toBe(8448);
    expect(c.tie_vision_embeddings).toBe(false);
    expect(fromHfConfig(c, "x").dims.visionVocabSize).toBe(8448);
  });

  it("reads the published Llama-2-7b config (no lwm fields) and names bad fields", () => {
    const llama2 = {
      architectures: ["LlamaForCausalLM"],
      bos_token_id: 1,
      eos_token_id: 2,
      hidden_act: "silu",
      hidden_size: 4096,
      initializer_range: 0.02,
      intermediate_size: 11008,
      max_position_embeddings: 4096,
      model_type: "llama",
      num_attention_heads: 32,
      num_hidden_layers: 32,
      num_key_value_heads: 32,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      tie_word_embeddings: false,
      torch_dtype: "float16",
      transformers_version: "4.31.0.dev0",
      use_cache: true,
      vocab_size: 32000,
    };
    const { dims: d, seqLen } = fromHfConfig(llama2, "llama2/config.json");
    expect(d).toMatchObject({ dim: 4096, ropeTheta: 10000, normEps: 1e-5, visionVocabSize: 0 });
    expect(seqLen).toBe(4096);
    expect(() => fromHfConfig({ ...llama2, hidden_size: "big" }, "c.json")).toThrow(/c\.json: hidden_size/);
    expect(() => fromHfConfig({ ...llama2, num_key_value_heads: 8 }, "c.json")).toThrow(/num_key_value_heads/);
  });
});
