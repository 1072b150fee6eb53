import { describe, expect, it } from "vitest";
import { lossFlags, windowsOf, windowTokens } from "./windows.js";

describe("windowsOf", () => {
  it("a short document is one example: BOS, tokens, EOS", () => {
    expect(windowsOf(5, 16)).toEqual([{ start: 0, end: 5, bos: true, eos: true }]);
    const doc = new Uint16Array([10, 11, 12, 13, 14]);
    expect([...windowTokens(doc, { start: 0, end: 5, bos: true, eos: true }, 1, 2)]).toEqual([1, 10, 11, 12, 13, 14, 2]);
  });

  it("a long document becomes consecutive windows covering every token once, BOS first, EOS last", () => {
    for (const n of [14, 15, 16, 17, 100, 1000]) {
      for (const seqLen of [3, 4, 16, 64]) {
        const ws = windowsOf(n, seqLen);
        let next = 0;
        ws.forEach((w, k) => {
          expect(w.start).toBe(next);
          next = w.end;
          expect(w.bos).toBe(k === 0);
          expect(w.eos).toBe(k === ws.length - 1);
          const length = w.end - w.start + (w.bos ? 1 : 0) + (w.eos ? 1 : 0);
          expect(length).toBeLessThanOrEqual(seqLen);
          expect(length).toBeGreaterThanOrEqual(2);
        });
        expect(next).toBe(n);
      }
    }
  });

  it("never leaves an EOS-only last window", () => {
    // n + 2 = 17 = 16 + 1: the window before the last gives up one token.
    const ws = windowsOf(15, 16);
    expect(ws).toEqual([
      { start: 0, end: 14, bos: true, eos: false },
      { start: 14, end: 15, bos: false, eos: true },
    ]);
  });

  it("keeps the token dtype and marks loss on all but the first token", () => {
    const doc = new Uint32Array([70000, 70001, 70002]);
    const t = windowTokens(doc, { start: 1, end: 3, bos: false, eos: true }, 1, 2);
    expect(t).toBeInstanceOf(Uint32Array);
    expect([...t]).toEqual([70001, 70002, 2]);
    expect([...lossFlags(3)]).toEqual([0, 1, 1]);
  });

  it("rejects a seqLen that cannot hold a target", () => {
    expect(() => windowsOf(3, 2)).toThrow(/seqLen/);
  });
});
