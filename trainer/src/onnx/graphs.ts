/**
 * The model's fused blocks as ONNX graphs: each forward block and, written out beside it, its
 * backward (onnxruntime has no autograd). Weights are inputs; token counts are symbolic.
 *
 * Layouts: activations are [n, d] row-major; attention tensors are chunked as [nc, h, C, hd]
 * (nc = n / C query/key chunks of C tokens), so a chunk is one contiguous [h, C, hd] slice.
 * Row statistics of the online softmax (max m, sum l, lse, D = rowsum(dO⊙O)) are [.., h, C, 1].
 */
import { GraphBuilder, type V, i } from "@lwm/onnx";

export interface GraphDims {
  dim: number;
  heads: number;
  ffnDim: number;
  normEps: number;
}

/**
 * The chunk length C is not baked into the graphs: graphs that change layout take an int64 input
 * `chunkShape` = [−1, C, heads, headDim], so one session serves every C and sequence length.
 */
export const CHUNK_SHAPE = "chunkShape";

/** Score given to masked (query, key) pairs. Finite, so a fully masked chunk row yields finite garbage that a later real chunk scales by exp(−1e9 − m) = 0. */
export const MASKED = -1e9;

// ---------------------------------------------------------------- shared pieces

/** y = x·rstd·w, rstd = 1/√(mean(x²)+eps). */
function rmsnorm(g: GraphBuilder, x: V, w: V, eps: number) {
  const ms = g.meanLast(g.mul(x, x));
  const r = g.op("Reciprocal", [g.op("Sqrt", [g.add(ms, g.constF([eps]))])]);
  return { y: g.mul(g.mul(x, r), w), r };
}
/** dx = r·(dy⊙w) − x·r³·Σ(dy⊙w⊙x)/d; dw = Σ_rows dy⊙x·r. */
function rmsnormBack(g: GraphBuilder, dy: V, x: V, w: V, r: V, d: number) {
  const gw = g.mul(dy, w);
  const gx = g.sumLast(g.mul(gw, x));
  const r3 = g.mul(g.mul(r, r), r);
  const dx = g.sub(g.mul(gw, r), g.mul(g.mul(x, r3), g.mul(gx, g.constF([1 / d]))));
  const dw = g.sumAxes(g.mul(g.mul(dy, x), r), [0]);
  return { dx, dw };
}
/** HF rotate_half on the last axis: [x1, x2] → [−x2, x1]. */
function rotateHalf(g: GraphBuilder, x: V): V {
  const [x1, x2] = g.opN("Split", [x], 2, { axis: i(-1) });
  return g.op("Concat", [g.neg(x2!), x1!], { axis: i(-1) });
}
/** [n, d] → [nc, h, C, hd] */
function toChunks(g: GraphBuilder, x: V): V {
  return g.transpose(g.reshape(x, CHUNK_SHAPE), [0, 2, 1, 3]);
}
/** [nc, h, C, hd] → [n, d] */
function fromChunks(g: GraphBuilder, x: V, dm: GraphDims): V {
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [-1, dm.dim]);
}
/** Mask of chunk pair: same segment and key position ≤ query position (global positions). */
function allowedMask(g: GraphBuilder, segq: V, posq: V, segk: V, posk: V): V {
  return g.op("And", [g.op("Equal", [segq, segk]), g.op("GreaterOrEqual", [posq, posk])]);
}

// ---------------------------------------------------------------- attention input: norm, q/k/v projections, RoPE

export function attnIn(dm: GraphDims): GraphBuilder {
  const g = new GraphBuilder("attn_in");
  const d = dm.dim,
    hd = d / dm.heads;
  g.input(CHUNK_SHAPE, [4], "int64");
  const x = g.input("x", ["n", d]),
    wn = g.input("wn", [d]);
  const wq = g.input("wq", [d, d]),
    wk = g.input("wk", [d, d]),
    wv = g.input("wv", [d, d]);
  const cos = g.reshape(g.input("cos", ["n", hd]), [-1, 1, hd]),
    sin = g.reshape(g.input("sin", ["n", hd]), [-1, 1, hd]);
  const { y: xn } = rmsnorm(g, x, wn, dm.normEps);
  const rope = (t: V) => {
    const th = g.reshape(t, [-1, dm.heads, hd]);
    return g.reshape(g.add(g.mul(th, cos), g.mul(rotateHalf(g, th), sin)), [-1, d]);
  };
  g.output("q", toChunks(g, rope(g.gemm(xn, wq, 0, 1))));
  g.output("k", toChunks(g, rope(g.gemm(xn, wk, 0, 1))));
  g.output("v", toChunks(g, g.gemm(xn, wv, 0, 1)));
  return g;
}

/** Backward of attnIn: from d(q,k,v) (rotated, chunked) and the residual gradient to dx and weight gradients. */
export function attnInBack(dm: GraphDims): GraphBuilder {
  const g = new GraphBuilder("attn_in_bwd");
  const d = dm.dim,
    hd = d / dm.heads;
  const x = g.input("x", ["n", d]),
    wn = g.input("wn", [d]);
  const wq = g.input("wq", [d, d]),
    wk = g.input("wk", [d, d]),
    wv = g.input("wv", [d, d]);
  const cos = g.reshape(g.input("cos", ["n", hd]), [-1, 1, hd]),
    sin = g.reshape(g.input("sin", ["n", hd]), [-1, 1, hd]);
  const dq = g.input("dq", ["nc", dm.heads, "C", hd]),
    dk = g.input("dk", ["nc", dm.heads, "C", hd]),
    dv = g.input("dv", ["nc", dm.heads, "C", hd]);
  const dres = g.input("dres", ["n", d]);
  const { y: xn, r } = rmsnorm(g, x, wn, dm.normEps);
  // RoPE is a rotation: its backward rotates back, dy⊙cos − rotate_half(dy⊙sin).
  const unrope = (t: V) => {
    const th = g.reshape(fromChunks(g, t, dm), [-1, dm.heads, hd]);
    return g.reshape(g.sub(g.mul(th, cos), rotateHalf(g, g.mul(th, sin))), [-1, d]);
  };
  const dqp = unrope(dq),
    dkp = unrope(dk),
    dvp = fromChunks(g, dv, dm);
  g.output("dwq", g.gemm(dqp, xn, 1, 0));
  g.output("dwk", g.gemm(dkp, xn, 1, 0));
  g.output("dwv", g.gemm(dvp, xn, 1, 0));
  const dxn = g.add(g.add(g.gemm(dqp, wq), g.gemm(dkp, wk)), g.gemm(dvp, wv));
  const { dx, dw } = rmsnormBack(g, dxn, x, wn, r, d);
  g.output("dx", g.add(dx, dres));
  g.output("dwn", dw);
  return g;
}

// ---------------------------------------------------------------- one (query chunk, key chunk) step of ring attention

/**
 * Online-softmax step: folds the scores of one key chunk into (o, m, l) of one query chunk, all heads
 * at once. `masked` false is the variant for pairs the masks allow entirely (key chunk wholly before
 * the query chunk, one segment): no mask inputs, no Where over the [h, a, b] scores.
 */
export function attnStep(dm: GraphDims, masked = true): GraphBuilder {
  const g = new GraphBuilder(masked ? "attn_fwd" : "attn_fwd_full");
  const h = dm.heads,
    hd = dm.dim / h;
  const q = g.input("q", [h, "a", hd]),
    k = g.input("k", [h, "b", hd]),
    v = g.input("v", [h, "b", hd]);
  let s = g.matmul(g.mul(q, g.constF([1 / Math.sqrt(hd)])), g.transpose(k, [0, 2, 1])); // scale the small operand
  if (masked) {
    const segq = g.input("segq", ["a", 1]),
      posq = g.input("posq", ["a", 1]),
      segk = g.input("segk", [1, "b"]),
      posk = g.input("posk", [1, "b"]);
    s = g.op("Where", [allowedMask(g, segq, posq, segk, posk), s, g.constF([MASKED])]);
  }
  const o = g.input("o", [h, "a", hd]),
    m = g.input("m", [h, "a", 1]),
    l = g.input("l", [h, "a", 1]);
  const mNew = g.op("Max", [m, g.maxLast(s)]);
  const p = g.exp(g.sub(s, mNew));
  const alpha = g.exp(g.sub(m, mNew));
  g.output("o2", g.add(g.mul(o, alpha), g.matmul(p, v)));
  g.output("m2", mNew);
  g.output("l2", g.add(g.mul(l, alpha), g.sumLast(p)));
  return g;
}

/** Backward of one chunk pair with p recomputed from the saved lse: accumulates dq (local) and dk, dv (travelling). */
export function attnStepBack(dm: GraphDims, masked = true): GraphBuilder {
  const g = new GraphBuilder(masked ? "attn_bwd" : "attn_bwd_full");
  const h = dm.heads,
    hd = dm.dim / h,
    scale = g.constF([1 / Math.sqrt(hd)]);
  const q = g.input("q", [h, "a", hd]),
    k = g.input("k", [h, "b", hd]),
    v = g.input("v", [h, "b", hd]);
  const dO = g.input("do", [h, "a", hd]),
    lse = g.input("lse", [h, "a", 1]),
    D = g.input("D", [h, "a", 1]);
  const dq = g.input("dq", [h, "a", hd]),
    dk = g.input("dk", [h, "b", hd]),
    dv = g.input("dv", [h, "b", hd]);
  const qs = g.mul(q, scale);
  let s = g.matmul(qs, g.transpose(k, [0, 2, 1]));
  if (masked) {
    const segq = g.input("segq", ["a", 1]),
      posq = g.input("posq", ["a", 1]),
      segk = g.input("segk", [1, "b"]),
      posk = g.input("posk", [1, "b"]);
    s = g.op("Where", [allowedMask(g, segq, posq, segk, posk), s, g.constF([MASKED])]);
  }
  const p = g.exp(g.sub(s, lse));
  g.output("dv2", g.add(dv, g.matmul(g.transpose(p, [0, 2, 1]), dO)));
  const dp = g.matmul(dO, g.transpose(v, [0, 2, 1]));
  const ds = g.mul(p, g.sub(dp, D));
  // s = (q·scale)·kᵀ: dq = ds·k·scale, dk = dsᵀ·(q·scale); the scale is applied to [h, ·, hd] tensors, not to ds
  g.output("dq2", g.add(dq, g.mul(g.matmul(ds, k), scale)));
  g.output("dk2", g.add(dk, g.matmul(g.transpose(ds, [0, 2, 1]), qs)));
  return g;
}

// ---------------------------------------------------------------- after attention: normalise, o_proj, residual, SwiGLU block

export function postAttn(dm: GraphDims): GraphBuilder {
  const g = new GraphBuilder("post_attn");
  const d = dm.dim,
    ff = dm.ffnDim,
    h = dm.heads,
    hd = d / h,
    C = "C";
  const x = g.input("x", ["n", d]);
  const oacc = g.input("oacc", ["nc", h, C, hd]),
    m = g.input("m", ["nc", h, C, 1]),
    l = g.input("l", ["nc", h, C, 1]);
  const wo = g.input("wo", [d, d]),
    wn = g.input("wn", [d]),
    wg = g.input("wg", [ff, d]),
    wu = g.input("wu", [ff, d]),
    wd = g.input("wd", [d, ff]);
  const o = g.div(oacc, l);
  g.output("o", o);
  g.output("lse", g.add(m, g.log(l)));
  const hres = g.add(x, g.gemm(fromChunks(g, o, dm), wo, 0, 1));
  const { y: hn } = rmsnorm(g, hres, wn, dm.normEps);
  const gt = g.gemm(hn, wg, 0, 1),
    up = g.gemm(hn, wu, 0, 1);
  const a = g.mul(g.mul(gt, g.sigmoid(gt)), up);
  g.output("y", g.add(hres, g.gemm(a, wd, 0, 1)));
  return g;
}

export function postAttnBack(dm: GraphDims): GraphBuilder {
  const g = new GraphBuilder("post_attn_bwd");
  const d = dm.dim,
    ff = dm.ffnDim,
    h = dm.heads,
    hd = d / h,
    C = "C";
  const x = g.input("x", ["n", d]),
    o = g.input("o", ["nc", h, C, hd]);
  const wo = g.input("wo", [d, d]),
    wn = g.input("wn", [d]),
    wg = g.input("wg", [ff, d]),
    wu = g.input("wu", [ff, d]),
    wd = g.input("wd", [d, ff]);
  const dy = g.input("dy", ["n", d]);
  g.input(CHUNK_SHAPE, [4], "int64");
  // recompute the block's activations
  const o2 = fromChunks(g, o, dm);
  const hres = g.add(x, g.gemm(o2, wo, 0, 1));
  const { y: hn, r } = rmsnorm(g, hres, wn, dm.normEps);
  const gt = g.gemm(hn, wg, 0, 1),
    up = g.gemm(hn, wu, 0, 1),
    sg = g.sigmoid(gt);
  const a = g.mul(g.mul(gt, sg), up);
  // y = hres + a·Wdᵀ
  g.output("dwd", g.gemm(dy, a, 1, 0));
  const da = g.gemm(dy, wd);
  // a = silu(g)⊙u, silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
  const du = g.mul(da, g.mul(gt, sg));
  const one = g.constF([1]);
  const dg = g.mul(g.mul(da, up), g.mul(sg, g.add(one, g.mul(gt, g.sub(one, sg)))));
  g.output("dwg", g.gemm(dg, hn, 1, 0));
  g.output("dwu", g.gemm(du, hn, 1, 0));
  const dhn = g.add(g.gemm(dg, wg), g.gemm(du, wu));
  const { dx: dhn2, dw: dwn } = rmsnormBack(g, dhn, hres, wn, r, d);
  g.output("dwn", dwn);
  const dh = g.add(dy, dhn2);
  g.output("dh", dh);
  // hres = x + o·Woᵀ
  g.output("dwo", g.gemm(dh, o2, 1, 0));
  const dO = toChunks(g, g.gemm(dh, wo));
  g.output("do", dO);
  g.output("D", g.sumLast(g.mul(dO, o)));
  return g;
}

// ---------------------------------------------------------------- final norm + LM head + cross-entropy (logits never leave the graph)

/**
 * Loss of `n` positions against int64 targets `tgt` [n,1] with per-position weights `w` [n,1];
 * `train` adds the gradients. One call covers all of a worker's positions: an ONNX Loop walks them
 * `chunk` rows at a time (n = trips·chunk; the caller pads with rows of weight 0 and `valid` 0), so
 * the [chunk, V] logits — the largest tensors of a step — never leave the graph, and the head's weight
 * gradient is carried through the loop (starting from `dW0`, the gradient accumulated so far) instead
 * of coming back to JS once per chunk. Inside a chunk the [chunk, V] tensors are touched as few times
 * as possible: one softmax pass, two row maxima, and the two products that read the probabilities.
 */
export function headLoss(dim: number, vocab: number, eps: number, train: boolean): GraphBuilder {
  const g = new GraphBuilder(train ? "head_loss_bwd" : "head_loss");
  const x = g.input("x", ["n", dim]),
    wn = g.input("wn", [dim]),
    W = g.input("W", [vocab, dim]);
  const tgt = g.input("tgt", ["n", 1], "int64"),
    w = g.input("w", ["n", 1]),
    valid = g.input("valid", ["n", 1]);
  const trips = g.input("trips", [], "int64"),
    chunk = g.input("chunk", [1], "int64");
  const dW0 = train ? g.input("dW0", [vocab, dim]) : undefined;
  const { y: xn, r } = rmsnorm(g, x, wn, eps);

  const b = g.subgraph("chunk");
  const it = b.input("it", [], "int64"),
    cond = b.input("cond", [], "bool");
  const lossIn = b.input("loss_in", [1]),
    correctIn = b.input("correct_in", [1]);
  const dWIn = train ? b.input("dW_in", [vocab, dim]) : undefined;
  const start = b.mul(b.reshape(it, [1]), chunk);
  const rows = (t: V) => b.op("Slice", [t, start, b.add(start, chunk), b.constI([0])]);
  const xc = rows(xn),
    tc = rows(tgt),
    wc = rows(w);
  const logits = b.gemm(xc, W, 0, 1);
  // Row-wise softmax in one pass (MLAS keeps each 128 KiB row in cache); the row's max logit mx and
  // max probability pmax = 1/Σexp(z − mx) give lse = mx − log(pmax) without an exp pass of our own.
  const p = b.op("Softmax", [logits], { axis: i(-1) });
  const mx = b.maxLast(logits);
  const zt = b.op("GatherElements", [logits, tc], { axis: i(1) });
  const nll = b.sub(b.sub(mx, b.log(b.maxLast(p))), zt);
  b.output("cond_out", cond, "bool");
  b.output("loss_out", b.add(lossIn, b.sumAxes(b.mul(nll, wc), [0, 1], 1)));
  // the target's logit is the max (argmax, counting exact ties as right); padding rows do not count
  const hit = b.op("Cast", [b.op("GreaterOrEqual", [zt, mx])], { to: i(1) });
  b.output("correct_out", b.add(correctIn, b.sumAxes(b.mul(hit, rows(valid)), [0, 1], 1)));
  if (train) {
    // dlogits = w·(p − onehot), never built: the weights go on the small [chunk, d] side of each
    // product and the one-hot part is a row update of dW and a gather of W.
    const xw = b.mul(xc, wc);
    const dW = b.op("Gemm", [p, xw, dWIn!], { transA: i(1) });
    b.output("dW_out", b.op("ScatterND", [dW, tc, b.neg(xw)], { reduction: { s: "add" } }));
    const Wt = b.op("Gather", [W, b.reshape(tc, [-1])], { axis: i(0) });
    b.output("dxn", b.mul(b.sub(b.gemm(p, W), Wt), wc));
  }
  const zero = g.constF([0], [1]);
  const outs = g.opN("Loop", [trips, "", zero, zero, ...(train ? [dW0!] : [])], train ? 4 : 2, { body: { g: b } });
  g.output("loss", outs[0]!);
  g.output("correct", outs[1]!);
  if (train) {
    g.output("dW", outs[2]!);
    const { dx, dw } = rmsnormBack(g, g.reshape(outs[3]!, [-1, dim]), x, wn, r, dim);
    g.output("dx", dx);
    g.output("dwn", dw);
  }
  return g;
}

/** Logits of the given positions (decoding). */
export function headLogits(dim: number, vocab: number, eps: number): GraphBuilder {
  const g = new GraphBuilder("head_logits");
  const x = g.input("x", ["n", dim]),
    wn = g.input("wn", [dim]),
    W = g.input("W", [vocab, dim]);
  g.output("logits", g.gemm(rmsnorm(g, x, wn, eps).y, W, 0, 1));
  return g;
}
