import { afterAll, describe, expect, it } from "vitest";
import { attention, attentionBack } from "../model/reference.js";
import { normalSampler } from "../model/rng.js";
import { RingAttention } from "./harness.js";
import { LayoutError } from "./layout.js";

const heads = 2,
  hd = 16,
  D = heads * hd;
const open: RingAttention[] = [];
afterAll(async () => {
  await Promise.all(open.map((r) => r.close()));
});

/** Segments of 10, 17 and 13 tokens, then 8 tokens of tail padding (its own segment). */
function segments(L: number, lens: number[]): Int32Array {
  const seg = new Int32Array(L);
  let at = 0;
  lens.forEach((len, s) => {
    seg.fill(s + 1, at, at + len);
    at += len;
  });
  seg.fill(lens.length + 1, at);
  return seg;
}
const rand = (n: number, seed: number) => {
  const g = normalSampler(seed);
  return Float32Array.from({ length: n }, () => g());
};
function expectClose(got: Float32Array, want: Float64Array, what: string) {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(diff, what).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
}

describe("RingAttention equals full masked attention", () => {
  const L = 48;
  const seg = segments(L, [10, 17, 13]);
  const q = rand(L * D, 1),
    k = rand(L * D, 2),
    v = rand(L * D, 3),
    dO = rand(L * D, 4);
  const full = attention(q, k, v, L, heads, hd, seg);
  const grads = attentionBack(dO, full.o, full.p, q, k, v, L, heads, hd);
  const cases: [number, "zigzag" | "contiguous" | "balanced", number[]][] = [
    [1, "zigzag", [4, 8, 24]],
    [2, "zigzag", [3, 6, 12]],
    [2, "contiguous", [4, 24]],
    [4, "zigzag", [2, 3, 6]],
    [2, "balanced", [3, 6]],
    [3, "balanced", [2, 4]],
  ];
  for (const [P, layout, blocks] of cases) {
    it(`P=${P} ${layout}, attention blocks ${blocks.join("/")}: output and dq, dk, dv`, async () => {
      const ring = RingAttention.create(heads, hd, P, layout);
      open.push(ring);
      for (const C of blocks) {
        const r = await ring.run(q, k, v, dO, seg, C);
        expectClose(r.o, full.o, `o (C=${C})`);
        expectClose(r.dq, grads.dq, `dq (C=${C})`);
        expectClose(r.dk, grads.dk, `dk (C=${C})`);
        expectClose(r.dv, grads.dv, `dv (C=${C})`);
        // fully masked chunk pairs are skipped, never computed
        if (C < L / P) expect(r.stats.reduce((s, x) => s + x.skipped, 0)).toBeGreaterThan(0);
        // and pairs the masks allow entirely take the mask-free graph
        if (C <= 4) expect(r.stats.reduce((s, x) => s + x.unmasked, 0)).toBeGreaterThan(0);
      }
    });
  }

  it("rejects a sequence the layout cannot split", async () => {
    const ring = RingAttention.create(heads, hd, 4, "zigzag");
    open.push(ring);
    const seg44 = segments(44, [44]);
    await expect(ring.run(q.subarray(0, 44 * D), k.subarray(0, 44 * D), v.subarray(0, 44 * D), dO.subarray(0, 44 * D), seg44)).rejects.toThrow(LayoutError);
    await expect(ring.run(q, k, v, dO, seg, 5)).rejects.toThrow(/does not divide/);
  });
});
