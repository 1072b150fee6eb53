import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsLog, readMetrics, type MetricsRecord } from "./metrics.js";

const evalRecord = (step: number): MetricsRecord => ({
  kind: "eval",
  stage: "a",
  stageStep: step,
  step,
  evalLoss: 1 / step,
  evalTextLoss: 1 / step,
  evalVisionLoss: 0,
  evalTextAccuracy: null,
  evalVisionAccuracy: null,
  rows: 1,
  examples: 2,
});

describe("metrics.jsonl", () => {
  it("appends records, ignores a line torn by a kill, and cuts back to a checkpoint's line count on resume", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "metrics-")), "metrics.jsonl");
    const log = await MetricsLog.open(path, 0);
    for (let s = 1; s <= 5; s++) await log.append(evalRecord(s));
    expect(log.count).toBe(5);
    appendFileSync(path, '{"kind":"eval","sta'); // a write cut short by SIGKILL
    expect((await readMetrics(path)).map((r) => (r.kind === "eval" ? r.step : -1))).toEqual([1, 2, 3, 4, 5]);

    const resumed = await MetricsLog.open(path, 3);
    expect(resumed.count).toBe(3);
    await resumed.append(evalRecord(9));
    expect((await readMetrics(path)).map((r) => (r.kind === "eval" ? r.step : -1))).toEqual([1, 2, 3, 9]);
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
    await expect(MetricsLog.open(path, 10)).rejects.toThrow(/has 4 records, the checkpoint saw 10/);
  });

  it("names the line of a record that is not valid", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "metrics-")), "metrics.jsonl");
    appendFileSync(path, JSON.stringify(evalRecord(1)) + "\n" + JSON.stringify({ kind: "step", stage: "a" }) + "\n");
    await expect(readMetrics(path)).rejects.toThrow(/metrics\.jsonl: line 2: stageStep: /);
  });
});
