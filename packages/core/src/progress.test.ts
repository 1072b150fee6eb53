import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { formatDuration, Progress } from "./progress.js";

describe("Progress", () => {
  it("prints rate and ETA once per interval", () => {
    const lines: string[] = [];
    let now = 0;
    const p = new Progress({ unit: "units", total: 10, intervalMs: 1000, label: "books", now: () => now, logger: createLogger({ write: (l) => lines.push(l) }) });
    now = 500;
    p.advance(1);
    expect(lines).toHaveLength(0);
    now = 2000;
    p.advance(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("books: 2/10 units (20.0%), 1.00 units/s, ETA 8s");
  });

  it("formats durations", () => {
    expect(formatDuration(59.4)).toBe("59s");
    expect(formatDuration(61)).toBe("1m01s");
    expect(formatDuration(3720)).toBe("1h02m");
  });
});
