/**
 * Greedy decoding of a text prompt (float64, as the reference): with a KV cache each new token costs
 * one position of every layer; without it every step recomputes the whole prefix. Both must give the
 * same tokens — the test of that equality is what makes the cache trustworthy. The cache can also
 * start from an engine's `prefill` (the prompt through the onnxruntime ring in one pass), which is
 * how long prompts are decoded: only the new tokens go through this float64 step.
 */
import type { LlamaConfig, Params, Prefill } from "./api.js";
import { EMBED, FINAL_NORM, LM_HEAD, layerNames } from "./params.js";
import { linear, referenceHidden, rmsnorm, rope } from "./reference.js";
import { ropeTables } from "./rows.js";

export interface DecodeOptions {
  kvCache: boolean;
  /** Stop after emitting this id (it is included). */
  eosId?: number;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

function param(params: Params, name: string): Float32Array {
  const a = params.get(name);
  if (!a) throw new Error(`params: missing ${name}`);
  return a;
}

/** Per-layer cache of rotated keys and values, [t, dim] each, grown one position at a time. */
class KvCache {
  private k: Float64Array[];
  private v: Float64Array[];
  length = 0;
  constructor(
    private readonly cfg: LlamaConfig,
    capacity: number,
  ) {
    this.k = Array.from({ length: cfg.layers }, () => new Float64Array(capacity * cfg.dim));
    this.v = Array.from({ length: cfg.layers }, () => new Float64Array(capacity * cfg.dim));
  }
  /** A cache holding a prefilled prompt, with room for `extra` more positions. */
  static from(cfg: LlamaConfig, prefill: Prefill, extra: number): KvCache {
    const n = (prefill.k[0]?.length ?? 0) / cfg.dim;
    if (prefill.k.length !== cfg.layers || prefill.v.length !== cfg.layers)
      throw new Error(`prefill: ${prefill.k.length} layers of keys, the model has ${cfg.layers}`);
    const cache = new KvCache(cfg, n + extra);
    prefill.k.forEach((k, li) => cache.k[li]!.set(k));
    prefill.v.forEach((v, li) => cache.v[li]!.set(v));
    cache.length = n;
    return cache;
  }
  /** The first `length` positions as a Prefill's keys and values (float32). */
  export(): { k: Float32Array[]; v: Float32Array[] } {
    const n = this.length * this.cfg.dim;
    return { k: this.k.map((a) => Float32Array.from(a.subarray(0, n))), v: this.v.map((a) => Float32Array.from(a.subarray(0, n))) };
  }
  /** Runs token `id` at position `this.length` through every layer and returns its final hidden state. */
  step(params: Params, id: number): Float64Array {
    const { dim: d, heads, ffnDim: f, normEps: eps } = this.cfg,
      hd = d / heads,
      t = this.length;
    const { cos, sin } = ropeTables(Int32Array.of(t), hd, this.cfg.ropeTheta);
    const x = Float64Array.from(param(params, EMBED).subarray(id * d, (id + 1) * d));
    for (let li = 0; li < this.cfg.layers; li++) {
      const w = layerNames(li);
      const xn = rmsnorm(x, 1, d, param(params, w.inputNorm), eps).y;
      const q = rope(linear(xn, 1, d, param(params, w.q), d), 1, heads, hd, cos, sin, 1);
      this.k[li]!.set(rope(linear(xn, 1, d, param(params, w.k), d), 1, heads, hd, cos, sin, 1), t * d);
      this.v[li]!.set(linear(xn, 1, d, param(params, w.v), d), t * d);
      const o = new Float64Array(d),
        K = this.k[li]!,
        V = this.v[li]!;
      for (let h = 0; h < heads; h++) {
        const s = new Float64Array(t + 1);
        let m = -Infinity;
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += q[h * hd + c]! * K[j * d + h * hd + c]!;
          s[j] = dot / Math.sqrt(hd);
          m = Math.max(m, s[j]!);
        }
        let l = 0;
        for (let j = 0; j <= t; j++) {
          s[j] = Math.exp(s[j]! - m);
          l += s[j]!;
        }
        for (let j = 0; j <= t; j++) for (let c = 0; c < hd; c++) o[h * hd + c]! += (s[j]! / l) * V[j * d + h * hd + c]!;
      }
      const ao = linear(o, 1, d, param(params, w.o), d);
      for (let i = 0; i < d; i++) x[i]! += ao[i]!;
      const hn = rmsnorm(x, 1, d, param(params, w.postNorm), eps).y;
      const g = linear(hn, 1, d, param(params, w.gate), f),
        u = linear(hn, 1, d, param(params, w.up), f);
      for (let i = 0; i < f; i++) g[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
      const y = linear(g, 1, f, param(params, w.down), d);
      for (let i = 0; i < d; i++) x[i]! += y[i]!;
    }
    this.length++;
    return rmsnorm(x, 1, d, param(params, FINAL_NORM), eps).y;
  }
}

/** The prompt one position at a time through a new cache with room for `extra` more; the last position's text logits (float64). */
function fillCache(params: Params, cfg: LlamaConfig, prompt: Uint32Array, extra: number): { cache: KvCache; logits: Float64Array } {
  const cache = new KvCache(cfg, prompt.length + extra);
  let h: Float64Array = new Float64Array(cfg.dim);
  for (const id of prompt) h = cache.step(params, id);
  return { cache, logits: linear(h, 1, cfg.dim, param(params, LM_HEAD), cfg.vocabSize) };
}

/** The float64 reference's prefill: the prompt one position at a time through the cache. */
export function referencePrefill(params: Params, cfg: LlamaConfig, prompt: Uint32Array): Prefill {
  if (prompt.length === 0) throw new Error("prefill: empty prompt");
  const { cache, logits } = fillCache(params, cfg, prompt, 0);
  return { logits: Float32Array.from(logits), ...cache.export() };
}

/** Chooses the next token from the text logits of the last position (argmax, or a seeded sampler). */
export type NextToken = (logits: ArrayLike<number>) => number;

/** Continuation: emits next(logits), feeds it through the cache, until `n` tokens or EOS. */
function continueWith(
  params: Params,
  cfg: LlamaConfig,
  cache: KvCache,
  logits: ArrayLike<number>,
  n: number,
  eosId: number | undefined,
  next: NextToken,
): Uint32Array {
  const head = param(params, LM_HEAD);
  const out: number[] = [];
  let id = next(logits);
  while (out.length < n) {
    out.push(id);
    if (id === eosId || out.length === n) break;
    id = next(linear(cache.step(params, id), 1, cfg.dim, head, cfg.vocabSize));
  }
  return Uint32Array.from(out);
}

/** Continues a prefilled prompt with up to `n` greedily chosen text tokens (the KV cache grows from the prefill); returns the new tokens. */
export function greedyDecodeFrom(params: Params, cfg: LlamaConfig, prefill: Prefill, n: number, opts: Omit<DecodeOptions, "kvCache">): Uint32Array {
  return decodeFrom(params, cfg, prefill, n, { ...opts, next: argmax });
}

/** Continues a prefilled prompt with up to `n` tokens chosen by `opts.next` (e.g. top-p sampling); returns the new tokens. */
export function decodeFrom(
  params: Params,
  cfg: LlamaConfig,
  prefill: Prefill,
  n: number,
  opts: Omit<DecodeOptions, "kvCache"> & { next: NextToken },
): Uint32Array {
  return continueWith(params, cfg, KvCache.from(cfg, prefill, n), prefill.logits, n, opts.eosId, opts.next);
}

/** Appends up to `n` greedily chosen text tokens to `prompt`; returns only the new tokens. */
export function greedyDecode(params: Params, cfg: LlamaConfig, prompt: Uint32Array, n: number, opts: DecodeOptions): Uint32Array {
  if (prompt.length === 0) throw new Error("greedyDecode: empty prompt");
  const d = cfg.dim,
    head = param(params, LM_HEAD);
  if (opts.kvCache) {
    const { cache, logits } = fillCache(params, cfg, prompt, n);
    return continueWith(params, cfg, cache, logits, n, opts.eosId, argmax);
  }
  const out: number[] = [];
  const seq = Array.from(prompt);
  while (out.length < n) {
    const hidden = referenceHidden(params, cfg, Uint32Array.from(seq), new Uint8Array(seq.length));
    const id = argmax(linear(hidden.subarray((seq.length - 1) * d), 1, d, head, cfg.vocabSize));
    out.push(id);
    seq.push(id);
    if (id === opts.eosId) break;
  }
  return Uint32Array.from(out);
}
