import { afterAll, describe, expect, it } from "vitest";
import type { LlamaConfig, TrainRow } from "./api.js";
import { createEngine } from "./engine.js";
import { makeRow, randomParams } from "./test-helpers/rows.js";

const cfg: LlamaConfig = { vocabSize: 50, visionVocabSize: 20, dim: 32, layers: 2, heads: 4, ffnDim: 48, normEps: 1e-6, ropeTheta: 10000 };
const segLens = [9, 14, 11]; // + 14 tokens of tail padding in a 48-token row

/** The same row with loss weights only on segment s (so the loss terms are that segment's). */
function only(row: TrainRow, s: number): TrainRow {
  const keep = (w: Float32Array) => w.map((x, i) => (i === s ? x : 0));
  return { ...row, weightText: keep(row.weightText), weightVision: keep(row.weightVision) };
}

describe("segment isolation in a packed row (onnx ring engine)", () => {
  const engines: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
  });

  it("changing one segment's tokens (or the padding) changes no loss term of any other segment", async () => {
    const engine = await createEngine(cfg, { workers: 2, layout: "zigzag", attnBlock: 4 });
    engines.push(engine);
    const params = randomParams(cfg, 9, 0.3);
    const row = makeRow(cfg, 48, segLens, 21, 3);
    const changed: TrainRow = { ...row, tokens: row.tokens.slice() };
    for (let i = 9; i < 23; i++) changed.tokens[i] = (row.tokens[i]! + 5) % (row.vision[i] ? cfg.visionVocabSize : cfg.vocabSize); // segment 1
    for (let i = 34; i < 48; i++) changed.tokens[i] = 17; // padding
    for (const s of [0, 2]) {
      const a = await engine.forward(params, [only(row, s)], 1, "vision-language");
      const b = await engine.forward(params, [only(changed, s)], 1, "vision-language");
      expect(a.textLoss).toBeGreaterThan(0);
      expect(b.textLoss).toBe(a.textLoss);
      expect(b.visionLoss).toBe(a.visionLoss);
    }
    // the changed segment's own loss does change, so the probe is sensitive
    const a1 = await engine.forward(params, [only(row, 1)], 1, "vision-language");
    const b1 = await engine.forward(params, [only(changed, 1)], 1, "vision-language");
    expect(b1.textLoss).not.toBe(a1.textLoss);
  });

  it("positions restart per segment: a segment's loss does not depend on where it sits in the row", async () => {
    const engine = await createEngine(cfg, { workers: 2, layout: "zigzag", attnBlock: 4 });
    engines.push(engine);
    const params = randomParams(cfg, 10, 0.3);
    const row = makeRow(cfg, 48, segLens, 22, 0);
    // move segment 2 (11 tokens) to the front
    const moved: TrainRow = {
      tokens: new Uint32Array(48),
      vision: new Uint8Array(48),
      loss: new Uint8Array(48),
      cuSeqlens: Int32Array.from([0, 11, 20, 34]),
      weightText: Float32Array.from([row.weightText[2]!, 0, 0]),
      weightVision: new Float32Array(3),
    };
    const order: [number, number][] = [
      [23, 34],
      [0, 9],
      [9, 23],
    ];
    let at = 0;
    for (const [s, e] of order) {
      moved.tokens.set(row.tokens.subarray(s, e), at);
      moved.loss.set(row.loss.subarray(s, e), at);
      at += e - s;
    }
    const a = await engine.forward(params, [only(row, 2)], 1, "text");
    const b = await engine.forward(params, [moved], 1, "text");
    expect(Math.abs(a.textLoss - b.textLoss)).toBeLessThan(1e-6 * a.textLoss);
    expect(b.textCorrect).toBe(a.textCorrect);
  });
});
