import { describe, expect, it } from "vitest";
import { collect } from "./test-helpers/collect.js";
import { SequencePacker, packSequences } from "./packer.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe("packSequences", () => {
  const seqLen = 1024;
  const rand = lcg(7);
  const lengths = Array.from({ length: 3000 }, () => 1 + Math.floor(rand() ** 2 * seqLen));
  const items = lengths.map((length, i) => ({ length, value: i }));

  it("places every item exactly once, within rows of at most seqLen tokens", async () => {
    const rows = await collect(packSequences(items, { seqLen, openRows: 32 }));
    const seen = rows.flatMap((r) => r.items).sort((a, b) => a - b);
    expect(seen).toEqual(items.map((x) => x.value));
    for (const row of rows) {
      const used = row.items.reduce((s, i) => s + lengths[i]!, 0);
      expect(row.used).toBe(used);
      expect(used).toBeLessThanOrEqual(seqLen);
    }
  });

  it("keeps arrival order inside a row and is deterministic", async () => {
    const a = await collect(packSequences(items, { seqLen }));
    const b = await collect(packSequences(items, { seqLen }));
    expect(a).toEqual(b);
    for (const row of a) expect([...row.items].sort((x, y) => x - y)).toEqual(row.items);
  });

  it("fills rows to within 5% of the fewest rows any packing could use", async () => {
    const rows = await collect(packSequences(items, { seqLen, openRows: 64 }));
    const total = lengths.reduce((s, x) => s + x, 0);
    const lowerBound = Math.ceil(total / seqLen);
    // No packing, offline best-fit decreasing included, can use fewer than ceil(total / seqLen) rows.
    expect(total / (rows.length * seqLen)).toBeGreaterThan(0.95);
    expect(rows.length).toBeLessThan(lowerBound * 1.05);
  });

  it("closes a row as soon as it is exactly full", () => {
    const packer = new SequencePacker<string>({ seqLen: 10 });
    expect(packer.add({ length: 6, value: "a" })).toEqual([]);
    expect(packer.add({ length: 4, value: "b" })).toEqual([{ items: ["a", "b"], used: 10 }]);
    expect(packer.flush()).toEqual([]);
  });

  it("closes the fullest row when all open rows are taken", () => {
    const packer = new SequencePacker<string>({ seqLen: 10, openRows: 2 });
    packer.add({ length: 7, value: "a" });
    packer.add({ length: 5, value: "b" });
    expect(packer.add({ length: 6, value: "c" })).toEqual([{ items: ["a"], used: 7 }]);
    expect(packer.flush()).toEqual([
      { items: ["b"], used: 5 },
      { items: ["c"], used: 6 },
    ]);
  });

  it("rejects items that do not fit a row", () => {
    const packer = new SequencePacker<number>({ seqLen: 8 });
    expect(() => packer.add({ length: 9, value: 0 })).toThrow(/outside 1\.\.8/);
    expect(() => packer.add({ length: 0, value: 0 })).toThrow(RangeError);
  });
});
