import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { formatDuration, Progress } from "./progress.js";

describe("Progress", () => {
  it("prints rate and ETA once per interval", () => {
    const lines: string[] = [];
    let now = 0;
    const p = new Progress({
      unit: "units",
      total: 10,
      intervalMs: 1000,
      label: "books",
      now: () => now,
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    now = 500;
    p.advance(1);
    expect(lines).toHaveLength(0);
    now = 2000;
    p.advance(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("books: 2/10 units (20.0%), 1 units/s, ETA 8s");
  });

  it("can count weighted work (bytes as MB) and add a suffix", () => {
    let now = 0;
    const p = new Progress({
      unit: "MB",
      total: 8e6,
      format: (b) => (b / 1e6).toFixed(1),
      suffix: () => "(1/4 units)",
      logger: createLogger({ write: () => undefined }),
      now: () => now,
    });
    now = 2000;
    p.advance(2e6);
    expect(p.line()).toBe("2.0/8.0 MB (25.0%), 1.0 MB/s, ETA 6s (1/4 units)");
  });

  it("formats durations", () => {
    expect(formatDuration(59.4)).toBe("59s");
    expect(formatDuration(61)).toBe("1m01s");
    expect(formatDuration(3720)).toBe("1h02m");
  });
});
