import { describe, expect, it } from "vitest";
import { collect } from "./test-helpers/collect.js";
import { mixByTokenShare, type MixStats } from "./mixture.js";

describe("mixByTokenShare", () => {
  it("tracks the asked token shares at every prefix", async () => {
    const a = Array.from({ length: 1000 }, () => 10);
    const b = Array.from({ length: 1000 }, () => 30);
    const mixed = await collect(
      mixByTokenShare(
        [
          { name: "a", share: 3, items: a },
          { name: "b", share: 1, items: b },
        ],
        (x) => x,
        { budgetTokens: 8000 },
      ),
    );
    let ta = 0;
    let tb = 0;
    for (const m of mixed) {
      if (m.source === "a") ta += m.value;
      else tb += m.value;
      // Never further from the asked share than one item of the larger kind.
      expect(Math.abs(ta - 0.75 * (ta + tb))).toBeLessThanOrEqual(30);
    }
    expect(ta + tb).toBeGreaterThanOrEqual(8000);
    expect(ta + tb - 30).toBeLessThan(8000);
  });

  it("lets the other sources take over when one runs dry, and reports what it achieved", async () => {
    const stats: MixStats[] = [];
    const mixed = await collect(
      mixByTokenShare(
        [
          { name: "small", share: 1, items: [5, 5] },
          { name: "big", share: 1, items: Array.from({ length: 10 }, () => 5) },
        ],
        (x) => x,
        { stats },
      ),
    );
    expect(mixed).toHaveLength(12);
    expect(stats).toEqual([
      { source: "small", asked: 0.5, tokens: 10, items: 2 },
      { source: "big", asked: 0.5, tokens: 50, items: 10 },
    ]);
  });

  it("closes the sources it did not finish when the budget stops the mix", async () => {
    const closed: string[] = [];
    async function* source(name: string): AsyncGenerator<number> {
      try {
        for (let i = 0; i < 100; i++) yield 10;
      } finally {
        closed.push(name);
      }
    }
    const mixed = await collect(
      mixByTokenShare(
        [
          { name: "a", share: 1, items: source("a") },
          { name: "b", share: 1, items: source("b") },
        ],
        (x) => x,
        { budgetTokens: 100 },
      ),
    );
    expect(mixed).toHaveLength(10);
    expect(closed.sort()).toEqual(["a", "b"]);
  });

  it("rejects shares that do not sum to a positive number", async () => {
    await expect(collect(mixByTokenShare([{ name: "a", share: 0, items: [1] }], (x) => x))).rejects.toThrow(/positive/);
  });
});
