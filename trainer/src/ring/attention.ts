/**
 * RingAttention over P workers (lwm-spec §7.2–7.3). Each worker keeps its query block; key/value
 * blocks travel around the ring. Forward folds every (query chunk, key chunk) pair into an online
 * softmax (running max m, sum l); backward recomputes probabilities from the saved lse and passes
 * k, v, dk, dv around the ring, so after P hops every dk/dv is back with its owner. Chunk pairs that
 * the causal and segment masks forbid entirely are skipped.
 */
import type { Feeds, OnnxKernels } from "../onnx/kernels.js";
import type { RingLink } from "./link.js";

/** A worker's slice of a row: n = nc·C tokens, each chunk of C contiguous in the global row. */
export interface LocalLayout {
  n: number;
  C: number;
  nc: number;
  /** Segment id (1..K, padding K+1) and global index of every local token, as floats for the graphs. */
  seg: Float32Array;
  pos: Float32Array;
}

/** Chunk pairs computed (of which `unmasked` needed no mask) and skipped as fully masked. */
export interface AttnStats {
  pairs: number;
  unmasked: number;
  skipped: number;
}

export interface AttnCtx {
  kernels: OnnxKernels;
  /** null: a ring of one (no neighbours). */
  link: RingLink | null;
  heads: number;
  headDim: number;
  stats: AttnStats;
  /** Distinguishes the blocks of different layers/calls in ring tags. */
  tag: string;
}

/** True when no query of chunk a may attend to any key of chunk b (segments only grow along the row). */
function fullyMasked(qSeg: Float32Array, qPos: Float32Array, a: number, kSeg: Float32Array, kPos: Float32Array, b: number, C: number): boolean {
  const q0 = a * C,
    q1 = q0 + C - 1,
    k0 = b * C,
    k1 = k0 + C - 1;
  return kPos[k0]! > qPos[q1]! || kSeg[k0]! > qSeg[q1]! || kSeg[k1]! < qSeg[q0]!;
}

/** True when every query of chunk a may attend to every key of chunk b: b lies wholly before a, all one segment. */
function fullyVisible(qSeg: Float32Array, qPos: Float32Array, a: number, kSeg: Float32Array, kPos: Float32Array, b: number, C: number): boolean {
  const q0 = a * C,
    k1 = b * C + C - 1;
  return kPos[k1]! <= qPos[q0]! && kSeg[b * C]! === qSeg[q0 + C - 1]!;
}

/**
 * The (query chunk a, key chunk b) pairs of this block that the masks allow at all, with `full`
 * when no mask is needed; counts computed, unmasked and skipped pairs. Forward and backward walk
 * the same pairs, so they share this.
 */
function* allowedPairs(ctx: AttnCtx, lay: LocalLayout, kv: { seg: Float32Array; pos: Float32Array }): Generator<{ a: number; b: number; full: boolean }> {
  const { C, nc } = lay;
  for (let a = 0; a < nc; a++) {
    for (let b = 0; b < nc; b++) {
      if (fullyMasked(lay.seg, lay.pos, a, kv.seg, kv.pos, b, C)) {
        ctx.stats.skipped++;
        continue;
      }
      ctx.stats.pairs++;
      const full = fullyVisible(lay.seg, lay.pos, a, kv.seg, kv.pos, b, C);
      if (full) ctx.stats.unmasked++;
      yield { a, b, full };
    }
  }
}

interface KvBlock {
  owner: number;
  k: Float32Array;
  v: Float32Array;
  seg: Float32Array;
  pos: Float32Array;
}
/** dk, dv of the travelling block, one array per key chunk (see `chunks`). */
interface KvGradBlock extends KvBlock {
  dk: Float32Array[];
  dv: Float32Array[];
}

/**
 * Accumulators are kept as one array per chunk: each step's output *replaces* its chunk's array
 * (onnxruntime hands back fresh arrays), so nothing is copied per chunk pair — only once per block,
 * by `joined`, where a contiguous buffer is needed (the ring, the next graph).
 */
function chunks(buf: Float32Array, nc: number): Float32Array[] {
  const size = buf.length / nc;
  return Array.from({ length: nc }, (_, a) => buf.subarray(a * size, (a + 1) * size));
}
function joined(parts: Float32Array[]): Float32Array {
  const size = parts[0]!.length,
    out = new Float32Array(parts.length * size);
  parts.forEach((p, a) => out.set(p, a * size));
  return out;
}

/** Segment ids and global positions of query chunk a and key chunk b, for the masked graphs. */
function masks(lay: LocalLayout, kv: { seg: Float32Array; pos: Float32Array }, a: number, b: number, C: number): Feeds {
  return {
    segq: [lay.seg.subarray(a * C, (a + 1) * C), [C, 1]],
    posq: [lay.pos.subarray(a * C, (a + 1) * C), [C, 1]],
    segk: [kv.seg.subarray(b * C, (b + 1) * C), [1, C]],
    posk: [kv.pos.subarray(b * C, (b + 1) * C), [1, C]],
  };
}

export async function ringAttentionForward(
  ctx: AttnCtx,
  lay: LocalLayout,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
): Promise<{ oacc: Float32Array; m: Float32Array; l: Float32Array }> {
  const { heads: h, headDim: hd, link } = ctx,
    { C, nc } = lay;
  const S = h * C * hd,
    R = h * C,
    P = link ? link.size : 1;
  const o = chunks(new Float32Array(nc * S), nc),
    m = chunks(new Float32Array(nc * R).fill(-Infinity), nc),
    l = chunks(new Float32Array(nc * R), nc);
  let cur: KvBlock = { owner: link ? link.rank : 0, k, v, seg: lay.seg, pos: lay.pos };
  for (let t = 0; t < P; t++) {
    const tag = `${ctx.tag}/fwd/${t}`;
    // Send a copy before computing, so the neighbour's next block is already on its way.
    if (link && t < P - 1) link.send({ tag, owner: cur.owner, arrays: { k: cur.k.slice(), v: cur.v.slice(), seg: cur.seg.slice(), pos: cur.pos.slice() } });
    for (const { a, b, full } of allowedPairs(ctx, lay, cur)) {
      const out = await ctx.kernels.run(full ? "attnStepFull" : "attnStep", {
        q: [q.subarray(a * S, (a + 1) * S), [h, C, hd]],
        k: [cur.k.subarray(b * S, (b + 1) * S), [h, C, hd]],
        v: [cur.v.subarray(b * S, (b + 1) * S), [h, C, hd]],
        ...(full ? {} : masks(lay, cur, a, b, C)),
        o: [o[a]!, [h, C, hd]],
        m: [m[a]!, [h, C, 1]],
        l: [l[a]!, [h, C, 1]],
      });
      o[a] = out.o2!;
      m[a] = out.m2!;
      l[a] = out.l2!;
    }
    if (link && t < P - 1) {
      const msg = await link.recv(tag);
      cur = { owner: msg.owner, k: msg.arrays.k!, v: msg.arrays.v!, seg: msg.arrays.seg!, pos: msg.arrays.pos! };
    }
  }
  return { oacc: joined(o), m: joined(m), l: joined(l) };
}

/** dO, lse, D are the local query block's; returns dq and this worker's own dk, dv after the full ring. */
export async function ringAttentionBackward(
  ctx: AttnCtx,
  lay: LocalLayout,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dO: Float32Array,
  lse: Float32Array,
  D: Float32Array,
): Promise<{ dq: Float32Array; dk: Float32Array; dv: Float32Array }> {
  const { heads: h, headDim: hd, link } = ctx,
    { C, nc } = lay;
  const S = h * C * hd,
    R = h * C,
    P = link ? link.size : 1;
  const dq = chunks(new Float32Array(nc * S), nc);
  let cur: KvGradBlock = {
    owner: link ? link.rank : 0,
    k,
    v,
    seg: lay.seg,
    pos: lay.pos,
    dk: chunks(new Float32Array(nc * S), nc),
    dv: chunks(new Float32Array(nc * S), nc),
  };
  for (let t = 0; t < P; t++) {
    for (const { a, b, full } of allowedPairs(ctx, lay, cur)) {
      const out = await ctx.kernels.run(full ? "attnStepBackFull" : "attnStepBack", {
        q: [q.subarray(a * S, (a + 1) * S), [h, C, hd]],
        k: [cur.k.subarray(b * S, (b + 1) * S), [h, C, hd]],
        v: [cur.v.subarray(b * S, (b + 1) * S), [h, C, hd]],
        do: [dO.subarray(a * S, (a + 1) * S), [h, C, hd]],
        lse: [lse.subarray(a * R, (a + 1) * R), [h, C, 1]],
        D: [D.subarray(a * R, (a + 1) * R), [h, C, 1]],
        ...(full ? {} : masks(lay, cur, a, b, C)),
        dq: [dq[a]!, [h, C, hd]],
        dk: [cur.dk[b]!, [h, C, hd]],
        dv: [cur.dv[b]!, [h, C, hd]],
      });
      dq[a] = out.dq2!;
      cur.dk[b] = out.dk2!;
      cur.dv[b] = out.dv2!;
    }
    if (link) {
      // k, v, dk, dv move on together; after P hops every block is home with its full dk, dv.
      const tag = `${ctx.tag}/bwd/${t}`;
      // seg/pos of the own block are still the query side's mask, so they travel as copies.
      link.send({ tag, owner: cur.owner, arrays: { k: cur.k, v: cur.v, seg: cur.seg.slice(), pos: cur.pos.slice(), dk: joined(cur.dk), dv: joined(cur.dv) } });
      const msg = await link.recv(tag);
      const a = msg.arrays;
      cur = { owner: msg.owner, k: a.k!, v: a.v!, seg: a.seg!, pos: a.pos!, dk: chunks(a.dk!, nc), dv: chunks(a.dv!, nc) };
    }
  }
  if (link && cur.owner !== link.rank) throw new Error(`ring worker ${link.rank}: dk/dv of block ${cur.owner} came home`);
  return { dq: joined(dq), dk: joined(cur.dk), dv: joined(cur.dv) };
}
