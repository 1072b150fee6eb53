/** Parameter names, shapes and seeded initialisation (Hugging Face Llama naming, `[out, in]` layout). */
import type { LlamaConfig, Params } from "./api.js";
import { normalSampler } from "./rng.js";

export const EMBED = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";
export const VISION_EMBED = "model.vision_embed_tokens.weight";
export const VISION_HEAD = "vision_head.weight";

/** Names of layer i's parameters. */
export function layerNames(i: number) {
  const p = `model.layers.${i}.`;
  return {
    inputNorm: `${p}input_layernorm.weight`,
    q: `${p}self_attn.q_proj.weight`,
    k: `${p}self_attn.k_proj.weight`,
    v: `${p}self_attn.v_proj.weight`,
    o: `${p}self_attn.o_proj.weight`,
    postNorm: `${p}post_attention_layernorm.weight`,
    gate: `${p}mlp.gate_proj.weight`,
    up: `${p}mlp.up_proj.weight`,
    down: `${p}mlp.down_proj.weight`,
  };
}
export type LayerNames = ReturnType<typeof layerNames>;

/** Every parameter with its shape, in a fixed order (embedding, layers, final norm, heads). */
export function paramShapes(cfg: LlamaConfig): Map<string, number[]> {
  const { dim: d, ffnDim: f } = cfg;
  const shapes = new Map<string, number[]>();
  shapes.set(EMBED, [cfg.vocabSize, d]);
  if (cfg.visionVocabSize > 0) shapes.set(VISION_EMBED, [cfg.visionVocabSize, d]);
  for (let i = 0; i < cfg.layers; i++) {
    const n = layerNames(i);
    shapes.set(n.inputNorm, [d]);
    shapes.set(n.q, [d, d]);
    shapes.set(n.k, [d, d]);
    shapes.set(n.v, [d, d]);
    shapes.set(n.o, [d, d]);
    shapes.set(n.postNorm, [d]);
    shapes.set(n.gate, [f, d]);
    shapes.set(n.up, [f, d]);
    shapes.set(n.down, [d, f]);
  }
  shapes.set(FINAL_NORM, [d]);
  shapes.set(LM_HEAD, [cfg.vocabSize, d]);
  if (cfg.visionVocabSize > 0) shapes.set(VISION_HEAD, [cfg.visionVocabSize, d]);
  return shapes;
}

const INIT_STD = 0.02; // HF LlamaConfig.initializer_range

/** N(0, 0.02) matrices and unit norm weights, as HF Llama initialises them; a pure function of (cfg, seed). */
export function initParams(cfg: LlamaConfig, seed: number): Params {
  const params: Params = new Map();
  const normal = normalSampler(seed);
  for (const [name, shape] of paramShapes(cfg)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (shape.length === 1) a.fill(1);
    else for (let i = 0; i < a.length; i++) a[i] = INIT_STD * normal();
    params.set(name, a);
  }
  return params;
}

/**
 * Text stage → vision-language stage hand-over: returns a new map with the text weights (shared, not
 * copied) plus a vision embedding and head for `cfg.visionVocabSize` entries.
 *
 * Initialisation (a choice; LWM issue #67 reports NaN loss right after this hand-over):
 * - vision embedding ~ N(0, σ) with σ = the RMS of the trained text embedding, so the first RMSNorm
 *   sees inputs on the scale it was trained on;
 * - vision head = 0, so the first vision predictions are exactly uniform (vision loss = ln 8448 ≈ 9.04,
 *   finite) and the vision head cannot push large, random gradients into the trained trunk at step 0.
 *   The head still receives a full gradient (dW = dlogitsᵀ·x), so it learns from the first step.
 */
export function addVisionParams(params: Params, cfg: LlamaConfig, seed: number): Params {
  if (cfg.visionVocabSize <= 0) throw new Error("addVisionParams: cfg.visionVocabSize must be > 0");
  const embed = params.get(EMBED);
  if (!embed) throw new Error(`addVisionParams: params lack ${EMBED}`);
  if (embed.length !== cfg.vocabSize * cfg.dim) throw new Error(`addVisionParams: ${EMBED} has ${embed.length} values, expected ${cfg.vocabSize}×${cfg.dim}`);
  let ss = 0;
  for (const v of embed) ss += v * v;
  const sigma = Math.sqrt(ss / embed.length);
  const normal = normalSampler(seed);
  const vte = new Float32Array(cfg.visionVocabSize * cfg.dim);
  for (let i = 0; i < vte.length; i++) vte[i] = sigma * normal();
  const out: Params = new Map(params);
  out.set(VISION_EMBED, vte);
  out.set(VISION_HEAD, new Float32Array(cfg.visionVocabSize * cfg.dim));
  return out;
}

/** Throws a clear error unless `params` has exactly the names and sizes of `cfg`. */
export function checkParams(params: Params, cfg: LlamaConfig): void {
  for (const [name, shape] of paramShapes(cfg)) {
    const a = params.get(name);
    const n = shape.reduce((x, y) => x * y, 1);
    if (!a) throw new Error(`params: missing ${name} [${shape.join(",")}]`);
    if (a.length !== n) throw new Error(`params: ${name} has ${a.length} values, expected [${shape.join(",")}] = ${n}`);
  }
}

/** Zero-filled arrays of every parameter's shape. */
export function zerosLike(cfg: LlamaConfig): Params {
  const out: Params = new Map();
  for (const [name, shape] of paramShapes(cfg)) out.set(name, new Float32Array(shape.reduce((x, y) => x * y, 1)));
  return out;
}
