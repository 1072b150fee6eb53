/**
 * Float64 reference of the whole model: plain full masked attention, no blocking, no workers.
 * Forward and backward are written op by op, side by side; it is the oracle the onnxruntime ring
 * engine is tested against, and the `backend: "reference"` engine for tiny models.
 */
import type { LlamaConfig, LossResult, Params, StageMode } from "./api.js";
import { EMBED, FINAL_NORM, LM_HEAD, VISION_EMBED, VISION_HEAD, layerNames, paramShapes } from "./params.js";
import { type PreparedRow, ropeTables } from "./rows.js";

type Vec = ArrayLike<number>;
type Grads = Map<string, Float64Array>;

// ---------------------------------------------------------------- ops: forward | backward

/** y[n,out] = x[n,in]·Wᵀ (W is [out,in]). */
export function linear(x: Vec, n: number, inD: number, W: Vec, outD: number): Float64Array {
  const y = new Float64Array(n * outD);
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < outD; o++) {
      let s = 0;
      for (let i = 0; i < inD; i++) s += x[t * inD + i]! * W[o * inD + i]!;
      y[t * outD + o] = s;
    }
  }
  return y;
}
/** dx = dy·W; dW += dyᵀ·x. */
function linearBack(dy: Float64Array, x: Vec, n: number, inD: number, W: Vec, outD: number, dW: Float64Array | undefined): Float64Array {
  const dx = new Float64Array(n * inD);
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < outD; o++) {
      const g = dy[t * outD + o]!;
      if (g === 0) continue;
      for (let i = 0; i < inD; i++) {
        dx[t * inD + i]! += g * W[o * inD + i]!;
        if (dW) dW[o * inD + i]! += g * x[t * inD + i]!;
      }
    }
  }
  return dx;
}

/** y = x·rstd·w with rstd = 1/√(mean(x²)+eps). */
export function rmsnorm(x: Vec, n: number, d: number, w: Vec, eps: number): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(n * d),
    rstd = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[t * d + i]! ** 2;
    const r = 1 / Math.sqrt(ss / d + eps);
    rstd[t] = r;
    for (let i = 0; i < d; i++) y[t * d + i] = x[t * d + i]! * r * w[i]!;
  }
  return { y, rstd };
}
/** dx = r·g − x·r³·(g·x)/d with g = dy⊙w; dw += Σ dy⊙x·r. */
function rmsnormBack(dy: Float64Array, x: Vec, n: number, d: number, w: Vec, rstd: Float64Array, dw: Float64Array): Float64Array {
  const dx = new Float64Array(n * d);
  for (let t = 0; t < n; t++) {
    const r = rstd[t]!;
    let gx = 0;
    for (let i = 0; i < d; i++) {
      gx += dy[t * d + i]! * w[i]! * x[t * d + i]!;
      dw[i]! += dy[t * d + i]! * x[t * d + i]! * r;
    }
    for (let i = 0; i < d; i++) dx[t * d + i] = r * dy[t * d + i]! * w[i]! - (x[t * d + i]! * r * r * r * gx) / d;
  }
  return dx;
}

/** HF half-split RoPE on x[n, heads·hd]; `sign` −1 applies the inverse rotation (its backward). */
export function rope(x: Float64Array, n: number, heads: number, hd: number, cos: Float64Array, sin: Float64Array, sign: 1 | -1): Float64Array {
  const y = new Float64Array(x.length),
    half = hd / 2;
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < heads; h++) {
      const b = t * heads * hd + h * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[t * hd + i]!,
          s = sign * sin[t * hd + i]!;
        const a1 = x[b + i]!,
          a2 = x[b + i + half]!;
        y[b + i] = a1 * c - a2 * s;
        y[b + i + half] = a2 * c + a1 * s;
      }
    }
  }
  return y;
}

/** Full masked attention, q/k/v as [n, heads·hd]; `allowed(i,j)` = causal ∧ same segment. Returns o and the probabilities [h][i][j]. */
export function attention(q: Vec, k: Vec, v: Vec, n: number, heads: number, hd: number, segId: Int32Array): { o: Float64Array; p: Float64Array } {
  const o = new Float64Array(n * heads * hd),
    p = new Float64Array(heads * n * n);
  const scale = 1 / Math.sqrt(hd),
    D = heads * hd;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      const row = h * n * n + i * n;
      for (let j = 0; j <= i; j++) {
        if (segId[j] !== segId[i]) continue;
        let s = 0;
        for (let c = 0; c < hd; c++) s += q[i * D + h * hd + c]! * k[j * D + h * hd + c]!;
        p[row + j] = s * scale;
        if (p[row + j]! > m) m = p[row + j]!;
      }
      let l = 0;
      for (let j = 0; j <= i; j++) {
        if (segId[j] !== segId[i]) continue;
        p[row + j] = Math.exp(p[row + j]! - m);
        l += p[row + j]!;
      }
      for (let j = 0; j <= i; j++) {
        if (segId[j] !== segId[i]) continue;
        p[row + j]! /= l;
        for (let c = 0; c < hd; c++) o[i * D + h * hd + c]! += p[row + j]! * v[j * D + h * hd + c]!;
      }
    }
  }
  return { o, p };
}
/** dS = P⊙(dP − rowsum(dO⊙O)); dq = dS·k·scale, dk = dSᵀ·q·scale, dv = Pᵀ·dO. */
export function attentionBack(
  dO: Vec,
  o: Vec,
  p: Float64Array,
  q: Vec,
  k: Vec,
  v: Vec,
  n: number,
  heads: number,
  hd: number,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const D = heads * hd,
    scale = 1 / Math.sqrt(hd);
  const dq = new Float64Array(n * D),
    dk = new Float64Array(n * D),
    dv = new Float64Array(n * D);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let di = 0;
      for (let c = 0; c < hd; c++) di += dO[i * D + h * hd + c]! * o[i * D + h * hd + c]!;
      for (let j = 0; j <= i; j++) {
        const pij = p[h * n * n + i * n + j]!;
        if (pij === 0) continue;
        let dp = 0;
        for (let c = 0; c < hd; c++) {
          dp += dO[i * D + h * hd + c]! * v[j * D + h * hd + c]!;
          dv[j * D + h * hd + c]! += pij * dO[i * D + h * hd + c]!;
        }
        const ds = pij * (dp - di) * scale;
        for (let c = 0; c < hd; c++) {
          dq[i * D + h * hd + c]! += ds * k[j * D + h * hd + c]!;
          dk[j * D + h * hd + c]! += ds * q[i * D + h * hd + c]!;
        }
      }
    }
  }
  return { dq, dk, dv };
}

// ---------------------------------------------------------------- model

function get(params: Params, name: string): Float32Array {
  const a = params.get(name);
  if (!a) throw new Error(`params: missing ${name}`);
  return a;
}

/** x0 = wte[token] or vte[token] by the vision flag. */
export function embed(params: Params, cfg: LlamaConfig, tokens: Uint32Array, vision: Uint8Array): Float64Array {
  const d = cfg.dim,
    n = tokens.length;
  const x = new Float64Array(n * d);
  const wte = get(params, EMBED);
  const vte = cfg.visionVocabSize > 0 ? params.get(VISION_EMBED) : undefined;
  for (let t = 0; t < n; t++) {
    const table = vision[t] === 1 ? vte : wte;
    if (!table) throw new Error(`token ${t} is a vision token but params have no ${VISION_EMBED}`);
    const id = tokens[t]!;
    for (let i = 0; i < d; i++) x[t * d + i] = table[id * d + i]!;
  }
  return x;
}

interface LayerCache {
  x: Float64Array;
  xn1: Float64Array;
  r1: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  p: Float64Array;
  o: Float64Array;
  h: Float64Array;
  xn2: Float64Array;
  r2: Float64Array;
  g: Float64Array;
  u: Float64Array;
  a: Float64Array;
}

const silu = (g: number) => g / (1 + Math.exp(-g));

/** One decoder layer forward: attention block then SwiGLU block, both pre-norm with residuals. */
function layerForward(
  params: Params,
  cfg: LlamaConfig,
  li: number,
  x: Float64Array,
  n: number,
  segId: Int32Array,
  cos: Float64Array,
  sin: Float64Array,
): LayerCache {
  const { dim: d, heads, ffnDim: f, normEps: eps } = cfg,
    hd = d / heads,
    w = layerNames(li);
  const { y: xn1, rstd: r1 } = rmsnorm(x, n, d, get(params, w.inputNorm), eps);
  const q = rope(linear(xn1, n, d, get(params, w.q), d), n, heads, hd, cos, sin, 1);
  const k = rope(linear(xn1, n, d, get(params, w.k), d), n, heads, hd, cos, sin, 1);
  const v = linear(xn1, n, d, get(params, w.v), d);
  const { o, p } = attention(q, k, v, n, heads, hd, segId);
  const ao = linear(o, n, d, get(params, w.o), d);
  const h = new Float64Array(n * d);
  for (let i = 0; i < h.length; i++) h[i] = x[i]! + ao[i]!;
  const { y: xn2, rstd: r2 } = rmsnorm(h, n, d, get(params, w.postNorm), eps);
  const g = linear(xn2, n, d, get(params, w.gate), f);
  const u = linear(xn2, n, d, get(params, w.up), f);
  const a = new Float64Array(n * f);
  for (let i = 0; i < a.length; i++) a[i] = silu(g[i]!) * u[i]!;
  return { x, xn1, r1, q, k, v, p, o, h, xn2, r2, g, u, a };
}
function layerOutput(params: Params, cfg: LlamaConfig, li: number, c: LayerCache, n: number): Float64Array {
  const y = linear(c.a, n, cfg.ffnDim, get(params, layerNames(li).down), cfg.dim);
  for (let i = 0; i < y.length; i++) y[i]! += c.h[i]!;
  return y;
}
/** Backward of one layer: takes d(layer output), accumulates parameter grads, returns d(layer input). */
function layerBackward(
  params: Params,
  cfg: LlamaConfig,
  li: number,
  c: LayerCache,
  dy: Float64Array,
  n: number,
  cos: Float64Array,
  sin: Float64Array,
  grads: Grads,
): Float64Array {
  const { dim: d, heads, ffnDim: f } = cfg,
    hd = d / heads,
    w = layerNames(li);
  const G = (name: string) => grads.get(name)!;
  // y = h + a·Wdᵀ
  const da = linearBack(dy, c.a, n, f, get(params, w.down), d, G(w.down));
  // a = silu(g)⊙u
  const dg = new Float64Array(n * f),
    du = new Float64Array(n * f);
  for (let i = 0; i < n * f; i++) {
    const g = c.g[i]!,
      sg = 1 / (1 + Math.exp(-g));
    du[i] = da[i]! * g * sg;
    dg[i] = da[i]! * c.u[i]! * sg * (1 + g * (1 - sg));
  }
  const dxn2 = linearBack(dg, c.xn2, n, d, get(params, w.gate), f, G(w.gate));
  const dxn2u = linearBack(du, c.xn2, n, d, get(params, w.up), f, G(w.up));
  for (let i = 0; i < dxn2.length; i++) dxn2[i]! += dxn2u[i]!;
  const dh = rmsnormBack(dxn2, c.h, n, d, get(params, w.postNorm), c.r2, G(w.postNorm));
  for (let i = 0; i < dh.length; i++) dh[i]! += dy[i]!;
  // h = x + o·Woᵀ
  const dO = linearBack(dh, c.o, n, d, get(params, w.o), d, G(w.o));
  const { dq, dk, dv } = attentionBack(dO, c.o, c.p, c.q, c.k, c.v, n, heads, hd);
  const dqPre = rope(dq, n, heads, hd, cos, sin, -1),
    dkPre = rope(dk, n, heads, hd, cos, sin, -1);
  const dxn1 = linearBack(dqPre, c.xn1, n, d, get(params, w.q), d, G(w.q));
  const dxk = linearBack(dkPre, c.xn1, n, d, get(params, w.k), d, G(w.k));
  const dxv = linearBack(dv, c.xn1, n, d, get(params, w.v), d, G(w.v));
  for (let i = 0; i < dxn1.length; i++) dxn1[i]! += dxk[i]! + dxv[i]!;
  const dx = rmsnormBack(dxn1, c.x, n, d, get(params, w.inputNorm), c.r1, G(w.inputNorm));
  for (let i = 0; i < dx.length; i++) dx[i]! += dh[i]!;
  return dx;
}

/** The engine's loss terms (LossResult without its timing stats), in float64, and the gradients when asked for. */
export interface ReferenceResult extends Omit<LossResult, "stats"> {
  grads: Grads | undefined;
}

/** Cross-entropy of one head over the positions that carry a target; accumulates d(xf) and d(head). */
function headLoss(
  xf: Float64Array,
  n: number,
  d: number,
  W: Vec,
  V: number,
  target: Int32Array,
  weight: Float32Array,
  dxf: Float64Array | undefined,
  dW: Float64Array | undefined,
) {
  let loss = 0,
    correct = 0;
  const logits = new Float64Array(V);
  for (let t = 0; t < n; t++) {
    const tg = target[t]!;
    if (tg < 0) continue;
    let m = -Infinity,
      arg = 0;
    for (let c = 0; c < V; c++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += xf[t * d + i]! * W[c * d + i]!;
      logits[c] = s;
      if (s > m) {
        m = s;
        arg = c;
      }
    }
    let z = 0;
    for (let c = 0; c < V; c++) z += Math.exp(logits[c]! - m);
    const lse = m + Math.log(z),
      w = weight[t]!;
    loss += w * (lse - logits[tg]!);
    if (arg === tg) correct++;
    if (!dxf || !dW || w === 0) continue;
    for (let c = 0; c < V; c++) {
      const dl = w * (Math.exp(logits[c]! - lse) - (c === tg ? 1 : 0));
      for (let i = 0; i < d; i++) {
        dxf[t * d + i]! += dl * W[c * d + i]!;
        dW[c * d + i]! += dl * xf[t * d + i]!;
      }
    }
  }
  return { loss, correct };
}

/** Loss terms (and, with `withGrads`, float64 gradients of the stage loss) summed over rows. */
export function referenceForwardBackward(params: Params, cfg: LlamaConfig, rows: readonly PreparedRow[], mode: StageMode, withGrads: boolean): ReferenceResult {
  const d = cfg.dim,
    hd = d / cfg.heads;
  let grads: Grads | undefined;
  if (withGrads) {
    grads = new Map();
    for (const [name, shape] of paramShapes(cfg)) grads.set(name, new Float64Array(shape.reduce((a, b) => a * b, 1)));
  }
  const out: ReferenceResult = { loss: 0, textLoss: 0, visionLoss: 0, textCorrect: 0, textTargets: 0, visionCorrect: 0, visionTargets: 0, grads };
  for (const row of rows) {
    const n = row.seqLen;
    const { cos, sin } = ropeTables(row.pos, hd, cfg.ropeTheta);
    let x = embed(params, cfg, row.tokens, row.vision);
    const caches: LayerCache[] = [];
    for (let li = 0; li < cfg.layers; li++) {
      const c = layerForward(params, cfg, li, x, n, row.segId, cos, sin);
      caches.push(c);
      x = layerOutput(params, cfg, li, c, n);
    }
    const { y: xf, rstd: rf } = rmsnorm(x, n, d, get(params, FINAL_NORM), cfg.normEps);
    const dxf = grads ? new Float64Array(n * d) : undefined;
    const text = headLoss(xf, n, d, get(params, LM_HEAD), cfg.vocabSize, row.textTarget, row.textWeight, dxf, grads?.get(LM_HEAD));
    out.textLoss += text.loss / row.coef;
    out.textCorrect += text.correct;
    out.textTargets += row.textTargets;
    if (mode === "vision-language" && row.visionTargets > 0) {
      const vis = headLoss(xf, n, d, get(params, VISION_HEAD), cfg.visionVocabSize, row.visionTarget, row.visionWeight, dxf, grads?.get(VISION_HEAD));
      out.visionLoss += vis.loss / row.coef;
      out.visionCorrect += vis.correct;
      out.visionTargets += row.visionTargets;
    }
    if (!grads || !dxf) continue;
    let dx = rmsnormBack(dxf, x, n, d, get(params, FINAL_NORM), rf, grads.get(FINAL_NORM)!);
    for (let li = cfg.layers - 1; li >= 0; li--) dx = layerBackward(params, cfg, li, caches[li]!, dx, n, cos, sin, grads);
    const dWte = grads.get(EMBED)!,
      dVte = grads.get(VISION_EMBED);
    for (let t = 0; t < n; t++) {
      const table = row.vision[t] === 1 ? dVte : dWte;
      const id = row.tokens[t]!;
      for (let i = 0; i < d; i++) table![id * d + i]! += dx[t * d + i]!;
    }
  }
  out.loss = mode === "text" ? out.textLoss : 0.5 * (out.textLoss + out.visionLoss);
  return out;
}

/** Final hidden states after the final norm, for one unpadded segment (positions 0..n−1). */
export function referenceHidden(params: Params, cfg: LlamaConfig, tokens: Uint32Array, vision: Uint8Array): Float64Array {
  const n = tokens.length,
    d = cfg.dim;
  const segId = new Int32Array(n).fill(1);
  const pos = Int32Array.from({ length: n }, (_, i) => i);
  const { cos, sin } = ropeTables(pos, d / cfg.heads, cfg.ropeTheta);
  let x = embed(params, cfg, tokens, vision);
  for (let li = 0; li < cfg.layers; li++) x = layerOutput(params, cfg, li, layerForward(params, cfg, li, x, n, segId, cos, sin), n);
  return rmsnorm(x, n, d, get(params, FINAL_NORM), cfg.normEps).y;
}
