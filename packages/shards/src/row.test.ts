import { LLAMA2_LWM_VOCAB, type ExampleRecord } from "@lwm/schemas";
import { describe, expect, it } from "vitest";
import { assembleRow } from "./row.js";
import {
  cuSeqlens,
  IGNORE_INDEX,
  labels,
  lossWeights,
  misplacedLoss,
  nextTokenTargets,
  positionIds,
  segmentIds,
  segmentLayoutProblem,
  weightMatches,
} from "./row-views.js";

const V = LLAMA2_LWM_VOCAB;
const prov = { kind: "synthetic", generator: "row.test", seed: 0, index: 0 } as const;

function example(id: string, tokens: number[], vision: number[], loss: number[]): ExampleRecord {
  return {
    exampleId: id.repeat(32).slice(0, 32),
    task: "text",
    tokens: Uint16Array.from(tokens),
    vision: Uint8Array.from(vision),
    loss: Uint8Array.from(loss),
    provenance: prov,
  };
}

// Segment 1: BOS a b EOS, loss on a b EOS. Segment 2: BOS, a vision code, <eov>, EOS: a toy vision
// run (assembleRow lays tokens out; frame layout is the validator's job).
const e1 = example("a", [1, 100, 101, 2], [0, 0, 0, 0], [0, 1, 1, 1]);
const e2 = example("b", [1, 5, 8193, 2], [0, 1, 1, 0], [0, 1, 1, 1]);

describe("assembleRow", () => {
  const row = assembleRow(10, V, [e1, e2]);

  it("concatenates the examples and pads the tail with padId, no vision, no loss", () => {
    expect(Array.from(row.tokens)).toEqual([1, 100, 101, 2, 1, 5, 8193, 2, 0, 0]);
    expect(Array.from(row.vision)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(Array.from(row.loss)).toEqual([0, 1, 1, 1, 0, 1, 1, 1, 0, 0]);
    expect(Array.from(row.cuSeqlens)).toEqual([0, 4, 8]);
    expect(row.tokens).toBeInstanceOf(Uint16Array);
    expect(row.exampleIds).toEqual([e1.exampleId, e2.exampleId]);
    expect(row.provenance).toEqual([prov, prov]);
  });

  it("weights each segment by 1/(its loss tokens of the modality), 0 when none", () => {
    expect(Array.from(row.weightText)).toEqual([Math.fround(1 / 3), 1]);
    expect(Array.from(row.weightVision)).toEqual([0, 0.5]);
  });

  it("uses uint32 tokens when the vocabulary does not fit uint16", () => {
    const big = { ...V, textVocabSize: 100_000 };
    expect(assembleRow(4, big, [example("c", [1, 70_000, 2], [0, 0, 0], [0, 1, 1])]).tokens).toBeInstanceOf(Uint32Array);
  });

  it("refuses rows that overflow, empty rows, loss on a first token and out-of-table ids", () => {
    expect(() => assembleRow(7, V, [e1, e2])).toThrow(/more than seqLen 7/);
    expect(() => assembleRow(7, V, [])).toThrow(/at least one/);
    expect(() => assembleRow(8, V, [example("d", [1, 2], [0, 0], [1, 1])])).toThrow(/first token/);
    expect(() => assembleRow(8, V, [example("e", [1, 9000, 2], [0, 1, 0], [0, 1, 1])])).toThrow(/vision table/);
  });
});

describe("training views", () => {
  const row = assembleRow(10, V, [e1, e2]);

  it("numbers segments from 1 with padding as the last segment, and restarts positions per segment", () => {
    expect(Array.from(segmentIds(row))).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(Array.from(positionIds(row))).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 0]);
  });

  it("gives HF-aligned labels and pre-shifted targets that never cross a boundary", () => {
    const X = IGNORE_INDEX;
    expect(Array.from(labels(row))).toEqual([X, 100, 101, 2, X, 5, 8193, 2, X, X]);
    expect(Array.from(nextTokenTargets(row))).toEqual([100, 101, 2, X, 5, 8193, 2, X, X, X]);
  });

  it("spreads per-segment weights onto loss tokens by modality", () => {
    const t = Math.fround(1 / 3);
    expect(Array.from(lossWeights(row))).toEqual([0, t, t, t, 0, 0.5, 0.5, 1, 0, 0]);
    expect(Array.from(lossWeights(row, { shifted: true }))).toEqual([t, t, t, 0, 0.5, 0.5, 1, 0, 0, 0]);
  });

  it("gives cu_seqlens with or without the padded tail as a final sequence", () => {
    expect(Array.from(cuSeqlens(row))).toEqual([0, 4, 8]);
    expect(Array.from(cuSeqlens(row, { includePadding: true }))).toEqual([0, 4, 8, 10]);
    const full = assembleRow(8, V, [e1, e2]);
    expect(Array.from(cuSeqlens(full, { includePadding: true }))).toEqual([0, 4, 8]);
  });
});

describe("row invariants", () => {
  it("names what is wrong with a segment layout, or nothing when it is one", () => {
    expect(segmentLayoutProblem(Int32Array.from([0, 4, 8]), 10)).toBeUndefined();
    expect(segmentLayoutProblem(Int32Array.from([0]), 10)).toMatch(/at least one segment/);
    expect(segmentLayoutProblem(Int32Array.from([1, 4]), 10)).toMatch(/starts at 1/);
    expect(segmentLayoutProblem(Int32Array.from([0, 4, 4]), 10)).toMatch(/cu_seqlens\[2\]=4 does not exceed/);
    expect(segmentLayoutProblem(Int32Array.from([0, 11]), 10)).toMatch(/past seqLen 10/);
  });

  it("finds loss on a segment's first token or on padding", () => {
    const row = assembleRow(10, V, [e1, e2]);
    expect(misplacedLoss(row)).toBeUndefined();
    const first = { ...row, loss: Uint8Array.from(row.loss) };
    first.loss[4] = 1;
    expect(misplacedLoss(first)).toEqual({ token: 4, problem: expect.stringMatching(/token 4 starts segment 1/) });
    const tail = { ...row, loss: Uint8Array.from(row.loss) };
    tail.loss[9] = 1;
    expect(misplacedLoss(tail)?.problem).toMatch(/padding token 9/);
  });

  it("accepts a stored weight within float32 rounding of 1/n, and only 0 for no loss tokens", () => {
    expect(weightMatches(Math.fround(1 / 3), 3)).toBe(true);
    expect(weightMatches(1 / 3, 3)).toBe(true);
    expect(weightMatches(0.3, 3)).toBe(false);
    expect(weightMatches(0, 0)).toBe(true);
    expect(weightMatches(1, 0)).toBe(false);
  });
});
