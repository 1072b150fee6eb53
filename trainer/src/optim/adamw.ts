import type { Params } from "../model/api.js";
import type { TensorMap } from "../checkpoint/safetensors.js";

/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter; optax.adamw / torch.optim.AdamW):
 *   m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
 *   p ← p − lr·( m/(1−β1^t) / (√(v/(1−β2^t)) + ε) + wd·p )       (wd only where `decays(name)`)
 * Moments are fp32 (like the weights); each element's update is computed in double precision.
 */
export interface AdamWConfig {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * Norm gains are not decayed: pulling an RMSNorm gain toward 0 shrinks the whole residual branch
 * rather than regularising it. (LWM's tux decays everything; this is our choice, written down.)
 */
export function decays(name: string): boolean {
  return !/norm\.weight$/.test(name);
}

export class AdamW {
  private t = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  constructor(readonly config: AdamWConfig) {}

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.t;
  }

  /** Applies one update to `params` in place. Parameters without a gradient are left alone. */
  update(params: Params, grads: Params, lr: number): void {
    this.t += 1;
    const [b1, b2] = this.config.betas;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const { eps, weightDecay } = this.config;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      if (g.length !== p.length) throw new Error(`AdamW: gradient of ${name} has ${g.length} values, parameter ${p.length}`);
      const m = this.moment(this.m, name, p.length);
      const v = this.moment(this.v, name, p.length);
      const wd = decays(name) ? weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const pi = p[i]!;
        p[i] = pi - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * pi);
      }
    }
  }

  private moment(store: Map<string, Float32Array>, name: string, n: number): Float32Array {
    let a = store.get(name);
    if (!a) {
      a = new Float32Array(n);
      store.set(name, a);
    }
    return a;
  }

  /** Moments as tensors ("m/<name>", "v/<name>") for optimizer.safetensors; `step` goes to state.json. */
  exportState(): { step: number; tensors: TensorMap } {
    const tensors: TensorMap = new Map();
    for (const [name, a] of this.m) tensors.set(`m/${name}`, { shape: [a.length], data: a });
    for (const [name, a] of this.v) tensors.set(`v/${name}`, { shape: [a.length], data: a });
    return { step: this.t, tensors };
  }

  /** Restores what exportState wrote; every moment must match its parameter's size. */
  importState(step: number, tensors: TensorMap, params: Params): void {
    this.t = step;
    this.m.clear();
    this.v.clear();
    for (const [key, t] of tensors) {
      const slash = key.indexOf("/");
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const p = params.get(name);
      if ((kind !== "m" && kind !== "v") || !p) throw new Error(`optimizer state: unexpected tensor "${key}"`);
      if (t.data.length !== p.length) throw new Error(`optimizer state: "${key}" has ${t.data.length} values, parameter has ${p.length}`);
      (kind === "m" ? this.m : this.v).set(name, t.data);
    }
  }
}

/** √(Σ g²) over every gradient, accumulated in double precision. */
export function globalNorm(grads: Params): number {
  let ss = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  return Math.sqrt(ss);
}

/**
 * Scales the gradients in place so their global norm is at most `maxNorm` (optax
 * clip_by_global_norm: g·maxNorm/max(norm, maxNorm)). Returns the norm before clipping.
 */
export function clipGlobalNorm(grads: Params, maxNorm: number): number {
  const norm = globalNorm(grads);
  if (norm > maxNorm) {
    const scale = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
  }
  return norm;
}
