import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NeedleEvalRecord } from "@lwm/schemas";
import { describe, expect, it } from "vitest";
import { NeedleEvalInputError } from "./haystack.js";
import { openNeedleJournal } from "./needle-journal.js";
import { cellKey, planNeedleCells } from "./needle-run.js";

describe("planNeedleCells", () => {
  it("gives per-length trials and limits a needle count to lengths up to its maximum (issue #15's grid)", () => {
    const cells = planNeedleCells({
      lengths: [2048, 4096, 8192, 16384, 32768],
      depths: [0, 0.25, 0.5, 0.75, 1],
      needleCounts: [{ count: 1 }, { count: 2, maxLength: 8192 }],
      trials: 20,
      trialsByLength: new Map([
        [4096, 5],
        [16384, 5],
      ]),
    });
    expect(cells.filter((c) => c.needles === 1)).toHaveLength(25);
    expect(cells.filter((c) => c.needles === 2).map((c) => c.length)).toEqual([
      2048, 2048, 2048, 2048, 2048, 4096, 4096, 4096, 4096, 4096, 8192, 8192, 8192, 8192, 8192,
    ]);
    expect(cells.find((c) => c.length === 16384)?.trials).toBe(5);
    expect(cells.find((c) => c.length === 32768)?.trials).toBe(20);
    // 1 needle: 3 lengths × 5 depths × 20 + 2 × 5 × 5; 2 needles: 2 × 5 × 20 + 5 × 5.
    expect(cells.reduce((s, c) => s + c.trials, 0)).toBe(300 + 50 + 200 + 25);
  });
});

function record(length: number, depth: number, correct: number): NeedleEvalRecord {
  return { formatVersion: 1, checkpoint: "c", contextTokens: length, depth, needles: 1, trials: 2, correct, accuracy: correct / 2, recall: correct / 2 };
}

describe("needle journal", () => {
  it("keeps finished cells across runs, drops a line a kill cut short, refuses other settings", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "journal-")), "needle.cells.jsonl");
    const a = await openNeedleJournal(path, "s1");
    expect(a.done.size).toBe(0);
    await a.append(record(100, 0, 1), ["x", "y"]);
    await a.append(record(100, 0.5, 2), ["1", "2"]);
    appendFileSync(path, '{"settings":"s1","record":{"formatVe'); // killed mid-write
    const b = await openNeedleJournal(path, "s1");
    expect([...b.done.keys()]).toEqual([
      cellKey({ needles: 1, length: 100, depth: 0, trials: 2 }),
      cellKey({ needles: 1, length: 100, depth: 0.5, trials: 2 }),
    ]);
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(3); // two lines and the final newline
    await expect(openNeedleJournal(path, "s2")).rejects.toThrow(NeedleEvalInputError);
    await expect(openNeedleJournal(path, "s2")).rejects.toThrow(/line 1 was run with other settings/);
    writeFileSync(path, "not json\n");
    await expect(openNeedleJournal(path, "s1")).rejects.toThrow(/line 1 is not JSON/);
  });
});
