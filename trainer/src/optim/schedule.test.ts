import { describe, expect, it } from "vitest";
import { lrAt } from "./schedule.js";

describe("learning-rate schedule", () => {
  it("warms up linearly to the peak, then stays constant", () => {
    const s = { peak: 4e-5, warmupSteps: 4, decay: "constant" as const, minRatio: 0.1 };
    const want = [1e-5, 2e-5, 3e-5, 4e-5, 4e-5, 4e-5];
    [0, 1, 2, 3, 4, 100].forEach((step, i) => expect(lrAt(s, step, 200)).toBeCloseTo(want[i]!, 18));
  });

  it("cosine-decays from the peak after warmup to peak·minRatio at the last step", () => {
    const s = { peak: 6e-4, warmupSteps: 10, decay: "cosine" as const, minRatio: 0.1 };
    expect(lrAt(s, 9, 111)).toBeCloseTo(6e-4, 15);
    expect(lrAt(s, 10, 111)).toBeCloseTo(6e-4, 15);
    expect(lrAt(s, 60, 111)).toBeCloseTo(6e-5 + 0.5 * 5.4e-4, 15); // halfway: cos(π/2) = 0
    expect(lrAt(s, 110, 111)).toBeCloseTo(6e-5, 15);
  });

  it("has no warmup when warmupSteps is 0", () => {
    expect(lrAt({ peak: 1, warmupSteps: 0, decay: "cosine", minRatio: 0 }, 0, 5)).toBe(1);
    expect(lrAt({ peak: 1, warmupSteps: 0, decay: "cosine", minRatio: 0 }, 4, 5)).toBeCloseTo(0, 15);
  });
});
