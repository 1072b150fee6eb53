import { Recipe, type RecipeInput } from "@lwm/schemas";
import { describe, expect, it } from "vitest";
import { planTraining } from "./plan.js";

const input: RecipeInput = {
  formatVersion: 1,
  name: "tiny",
  sources: [{ kind: "books", name: "b", paths: ["x"] }],
  stages: [
    { name: "s64", seqLen: 64, ropeTheta: 1e6, mixture: { b: 1 }, training: { steps: 5, tokensPerBatch: 256, lr: { peak: 1e-3 } } },
    { name: "s128", seqLen: 128, ropeTheta: 1e7, mixture: { b: 1 }, training: { tokens: 1000, tokensPerBatch: 256, lr: { peak: 1e-3 } } },
  ],
  model: { dim: 16, layers: 1, heads: 2, ffnDim: 32 },
};
const recipe = Recipe.parse(input);
const base = { workers: 2, layout: "zigzag" as const, hasInit: false };

describe("planTraining", () => {
  it("turns token budgets into steps and batches into rows", () => {
    const p = planTraining(recipe, base);
    expect(p.stages.map((s) => [s.stage.name, s.steps, s.batchRows])).toEqual([
      ["s64", 5, 4],
      ["s128", 4, 2],
    ]);
    expect(planTraining(recipe, { ...base, stages: ["s128"] }).stages.map((s) => s.stage.name)).toEqual(["s128"]);
  });

  it("names the field or flag of every problem", () => {
    expect(() => planTraining(recipe, { ...base, stages: ["s32"] })).toThrow(/--stages: unknown stage "s32" \(the recipe has s64, s128\)/);
    expect(() => planTraining(recipe, { ...base, stages: ["s128", "s64"] })).toThrow(/--stages: give stages in the recipe's order/);
    expect(() => planTraining(recipe, { ...base, workers: 3 })).toThrow(/--workers 3: stages\[0\]\.seqLen 64 \(stage "s64"\) is not divisible by 2·P = 6/);
    expect(() => planTraining(recipe, { ...base, workers: 3, layout: "contiguous" })).toThrow(/not divisible by 1·P = 3/);
    expect(() => planTraining(recipe, { ...base, workers: 32, layout: "balanced" })).toThrow(/not divisible by 4·P = 128; the balanced layout/);
    expect(planTraining(recipe, { ...base, workers: 4, layout: "balanced" }).layout).toBe("balanced");
    expect(() => planTraining(recipe, { ...base, workers: 64, layout: "contiguous" })).not.toThrow();
    const badBatch = Recipe.parse({ ...input, stages: [{ ...input.stages[0]!, training: { steps: 1, tokensPerBatch: 100, lr: { peak: 1 } } }] });
    expect(() => planTraining(badBatch, base)).toThrow(/stages\[0\]\.training\.tokensPerBatch: 100 is not a multiple of seqLen 64/);
    const noTraining = Recipe.parse({ ...input, stages: [{ ...input.stages[0]!, training: undefined }] });
    expect(() => planTraining(noTraining, base)).toThrow(/stages\[0\]\.training: stage "s64" has no training section/);
    const noModel = Recipe.parse({ ...input, model: undefined });
    expect(() => planTraining(noModel, base)).toThrow(/^model: /);
    expect(() => planTraining(noModel, { ...base, hasInit: true })).not.toThrow();
    const oddHead = Recipe.parse({ ...input, model: { dim: 18, layers: 1, heads: 2, ffnDim: 8 } });
    expect(() => planTraining(oddHead, base)).toThrow(/model\.heads: head dim 9/);
  });
});
