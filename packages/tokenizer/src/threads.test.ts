import { existsSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { limitTokenizerThreads, loadTokenizer, RAYON_THREADS_ENV, tokenizerThreadBudget } from "./index.js";

const canCountThreads = existsSync("/proc/self/task");
const threadCount = (): number => readdirSync("/proc/self/task").length;

// vitest runs each test file in its own process, so the native pool has not started here yet.
describe("tokenizer thread budget", () => {
  it("rejects a budget that is not a positive integer", () => {
    expect(() => limitTokenizerThreads(0)).toThrow(RangeError);
    expect(() => limitTokenizerThreads(1.5)).toThrow(RangeError);
  });

  it.skipIf(!canCountThreads)("encodeBatch starts exactly the budgeted number of native threads, then the budget is fixed", async () => {
    // 3 is more than this machine's 2 cores, so a pool of 3 can only come from the budget.
    limitTokenizerThreads(3);
    expect(process.env[RAYON_THREADS_ENV]).toBe("3");
    expect(tokenizerThreadBudget()).toBe(3);
    const tok = await loadTokenizer();
    await tok.encode("warm up the libuv pool");
    const before = threadCount();
    await tok.encodeBatch(Array.from({ length: 64 }, (_, i) => `sentence number ${i}`));
    expect(threadCount() - before).toBe(3);
    expect(() => limitTokenizerThreads(2)).toThrow(/already started with 3 threads/);
    expect(() => limitTokenizerThreads(3)).not.toThrow();
  });
});
