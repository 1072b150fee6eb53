import { describe, expect, it } from "vitest";
import { type Layout, LayoutError, attentionChunk, blockIndices, pieceLength, pieceWork } from "./layout.js";

function segIds(L: number, lens: number[]): Int32Array {
  const seg = new Int32Array(L);
  let at = 0;
  lens.forEach((n, s) => {
    seg.fill(s + 1, at, at + n);
    at += n;
  });
  seg.fill(lens.length + 1, at);
  return seg;
}
/** Attention work (allowed pairs with the query on the worker) per worker. */
function workPerWorker(seg: Int32Array, blocks: Int32Array[]): number[] {
  const perToken = pieceWork(seg, 1);
  return blocks.map((idx) => idx.reduce((s, t) => s + perToken[t]!, 0));
}

describe("sequence layouts over ring workers", () => {
  const L = 8192,
    seg = segIds(L, [1757, 3830, 2541]);
  for (const layout of ["contiguous", "zigzag", "balanced"] as Layout[]) {
    for (const P of [1, 2, 4]) {
      it(`${layout}, P=${P}: every token on exactly one worker, L/P each, in contiguous pieces`, () => {
        const blocks = blockIndices(L, P, layout, seg);
        expect(blocks.map((b) => b.length)).toEqual(new Array(P).fill(L / P));
        const seen = new Uint8Array(L);
        for (const b of blocks) for (const t of b) seen[t]!++;
        expect(seen.every((x) => x === 1)).toBe(true);
        const piece = pieceLength(L, P, layout);
        for (const b of blocks) for (let i = 0; i < b.length; i++) if (i % piece !== 0) expect(b[i]).toBe(b[i - 1]! + 1);
      });
    }
  }

  it("zigzag balances one causal document; balanced also balances a packed row of several", () => {
    const one = segIds(L, [L]);
    const z1 = workPerWorker(one, blockIndices(L, 4, "zigzag", one));
    expect(Math.max(...z1) / Math.min(...z1)).toBeLessThan(1.01);
    const c1 = workPerWorker(one, blockIndices(L, 4, "contiguous", one));
    expect(Math.max(...c1) / Math.min(...c1)).toBeGreaterThan(5);
    const z = workPerWorker(seg, blockIndices(L, 2, "zigzag", seg));
    const b = workPerWorker(seg, blockIndices(L, 2, "balanced", seg));
    const spread = (w: number[]) => Math.max(...w) / Math.min(...w);
    expect(spread(z)).toBeGreaterThan(1.4);
    expect(spread(b)).toBeLessThan(1.1);
  });

  it("explains what does not divide", () => {
    expect(() => pieceLength(100, 4, "zigzag")).toThrow(LayoutError);
    expect(() => pieceLength(100, 4, "zigzag")).toThrow(/seqLen 100 is not divisible by 8/);
    expect(() => blockIndices(64, 2, "balanced")).toThrow(/segment ids/);
    expect(() => attentionChunk(96, 40)).toThrow(/does not divide/);
    expect(attentionChunk(1536)).toBe(256);
    expect(attentionChunk(96)).toBe(96);
    expect(attentionChunk(600)).toBe(200);
  });
});
