import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Recipe, type RecipeInput } from "@lwm/schemas";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../checkpoint/checkpoint.js";
import { createEngine } from "../model/index.js";
import { writeSyntheticStage } from "../data/synthetic.js";
import { readMetrics, type EvalRecord, type StageRecord, type StepRecord } from "./metrics.js";
import { planTraining } from "./plan.js";
import { paramsSha256, train } from "./trainer.js";

const recipeInput: RecipeInput = {
  formatVersion: 1,
  name: "progressive",
  sources: [{ kind: "books", name: "s", paths: ["x"] }],
  stages: [
    {
      name: "short",
      seqLen: 32,
      ropeTheta: 1e4,
      mixture: { s: 1 },
      training: { steps: 24, tokensPerBatch: 128, lr: { peak: 1e-2, warmupSteps: 2 }, evalFraction: 0.15, evalEvery: 12, checkpointEvery: 8, weightDecay: 0 },
    },
    {
      name: "long",
      seqLen: 64,
      ropeTheta: 1e5,
      mixture: { s: 1 },
      training: { steps: 6, tokensPerBatch: 128, lr: { peak: 5e-3, decay: "cosine", warmupSteps: 1 }, evalFraction: 0.15 },
    },
  ],
  model: { dim: 32, layers: 1, heads: 2, ffnDim: 64 },
};

describe("progressive training (reference engine)", () => {
  it("trains two stages with their own seqLen and θ, the second from the first's weights, with falling loss and per-stage eval", async () => {
    const root = mkdtempSync(join(tmpdir(), "prog-"));
    await writeSyntheticStage(join(root, "data"), { stage: "short", seqLen: 32, rows: 60, seed: 1 });
    await writeSyntheticStage(join(root, "data"), { stage: "long", seqLen: 64, rows: 30, seed: 2 });
    const plan = planTraining(Recipe.parse(recipeInput), { workers: 1, layout: "zigzag", hasInit: false });
    const runDir = join(root, "run");
    const summary = await train({ plan, dataRoot: join(root, "data"), runDir, resume: false, createEngine, backend: "reference" });

    const records = await readMetrics(summary.metrics);
    const stages = records.filter((r): r is StageRecord => r.kind === "stage");
    const steps = records.filter((r): r is StepRecord => r.kind === "step");
    const evals = records.filter((r): r is EvalRecord => r.kind === "eval");
    expect(stages.map((s) => [s.stage, s.seqLen, s.ropeTheta, s.startStep])).toEqual([
      ["short", 32, 1e4, 0],
      ["long", 64, 1e5, 24],
    ]);
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(evals.map((e) => [e.stage, e.stageStep])).toEqual([
      ["short", 12],
      ["short", 24],
      ["long", 6],
    ]);

    // Stage "long" starts from exactly the weights stage "short" ended with.
    const shortFinal = await loadCheckpoint(join(runDir, "checkpoints", "short", "final"));
    expect(stages[1]!.initSha256).toBe(paramsSha256(shortFinal.params, shortFinal.dims));
    expect(stages[1]!.initFrom).toBe(join("checkpoints", "short", "final"));
    expect(shortFinal.config.rope_theta).toBe(1e4);
    const longFinal = await loadCheckpoint(join(runDir, "checkpoints", "long", "final"));
    expect(longFinal.config.rope_theta).toBe(1e5);
    expect(longFinal.config.max_position_embeddings).toBe(64);

    // The corpus is learnable: the loss falls well below its start (ln 48 ≈ 3.87 for a uniform guess).
    const first = steps.slice(0, 3).reduce((s, r) => s + r.loss, 0) / 3;
    const last =
      steps
        .filter((s) => s.stage === "short")
        .slice(-3)
        .reduce((s, r) => s + r.loss, 0) / 3;
    expect(first).toBeGreaterThan(3.5);
    expect(last).toBeLessThan(first - 1);
    expect(evals[1]!.evalLoss).toBeLessThan(evals[0]!.evalLoss + 0.05);
    expect(evals[2]!.evalLoss).toBeLessThan(first - 1);
    // …and stage "long" begins where "short" left off, not from scratch.
    expect(steps.find((s) => s.stage === "long")!.loss).toBeLessThan(first - 1);
    for (const s of steps) {
      expect(s.textAccuracy).not.toBeNull();
      expect(s.gradNorm).toBeGreaterThan(0);
      expect(s.modelGflops).toBeGreaterThan(0);
    }
    expect(steps.at(-1)!.totalTokens).toBe(24 * 128 + 6 * 128);
    expect(existsSync(join(runDir, "loss.html"))).toBe(true);
    expect(readFileSync(join(runDir, "loss.html"), "utf8")).toContain("<svg");
    // Only the final checkpoint of each stage remains (step checkpoints are superseded).
    expect(existsSync(join(runDir, "checkpoints", "short", "step-000016"))).toBe(false);
  }, 120_000);
});

describe("a run folder continued stage by stage", () => {
  it("`--stages short` then `--stages long` gives the same curve as one two-stage run", async () => {
    const root = mkdtempSync(join(tmpdir(), "cont-"));
    await writeSyntheticStage(join(root, "data"), { stage: "short", seqLen: 32, rows: 60, seed: 1 });
    await writeSyntheticStage(join(root, "data"), { stage: "long", seqLen: 64, rows: 30, seed: 2 });
    const recipe = Recipe.parse(recipeInput);
    const run = (runDir: string, stages?: string[], resume = false) =>
      train({
        plan: planTraining(recipe, { workers: 1, layout: "zigzag", hasInit: false, ...(stages ? { stages } : {}) }),
        dataRoot: join(root, "data"),
        runDir,
        resume,
        createEngine,
        backend: "reference",
      });
    await run(join(root, "whole"));
    const split = join(root, "split");
    await run(split, ["short"]);
    const lines: string[] = [];
    await train({
      plan: planTraining(recipe, { workers: 1, layout: "zigzag", hasInit: false, stages: ["long"] }),
      dataRoot: join(root, "data"),
      runDir: split,
      resume: false,
      createEngine,
      backend: "reference",
      log: (l) => lines.push(l),
    });
    expect(lines[0]).toMatch(/continuing the run in .* after stage "short"/);
    const strip = (rs: Awaited<ReturnType<typeof readMetrics>>) =>
      rs.map((r) => (r.kind === "step" ? { ...r, seconds: 0, engineSeconds: 0, tokensPerSecond: 0, modelGflops: 0 } : r));
    expect(strip(await readMetrics(join(split, "metrics.jsonl")))).toEqual(strip(await readMetrics(join(root, "whole", "metrics.jsonl"))));
    // Training "short" again into the same folder would overwrite it: refused.
    await expect(run(split, ["short"])).rejects.toThrow(/already holds a checkpoint \(checkpoints\/long\/final\); pass --resume/);
  }, 120_000);
});

describe("text → vision-language hand-over (reference engine)", () => {
  it("adds the vision table at the first vision-language stage and trains both heads", async () => {
    const root = mkdtempSync(join(tmpdir(), "vl-"));
    await writeSyntheticStage(join(root, "data"), { stage: "text", seqLen: 32, rows: 30, seed: 1 });
    await writeSyntheticStage(join(root, "data"), { stage: "vl", seqLen: 32, rows: 30, seed: 2, vision: true });
    const recipe = Recipe.parse({
      ...recipeInput,
      stages: [
        { name: "text", seqLen: 32, ropeTheta: 1e4, mixture: { s: 1 }, training: { steps: 4, tokensPerBatch: 64, lr: { peak: 1e-2 }, evalFraction: 0.2 } },
        {
          name: "vl",
          kind: "vision-language",
          seqLen: 32,
          ropeTheta: 5e7,
          mixture: { s: 1 },
          training: { steps: 12, tokensPerBatch: 64, lr: { peak: 1e-2 }, evalFraction: 0.2 },
        },
      ],
    });
    const runDir = join(root, "run");
    await train({
      plan: planTraining(recipe, { workers: 1, layout: "zigzag", hasInit: false }),
      dataRoot: join(root, "data"),
      runDir,
      resume: false,
      createEngine,
      backend: "reference",
    });
    const records = await readMetrics(join(runDir, "metrics.jsonl"));
    const vlSteps = records.filter((r): r is StepRecord => r.kind === "step" && r.stage === "vl");
    const textSteps = records.filter((r): r is StepRecord => r.kind === "step" && r.stage === "text");
    for (const s of textSteps) expect([s.visionLoss, s.visionAccuracy]).toEqual([0, null]);
    for (const s of vlSteps) {
      expect(s.visionLoss).toBeGreaterThan(0);
      expect(s.visionAccuracy).not.toBeNull();
      expect(s.loss).toBeCloseTo(0.5 * (s.textLoss + s.visionLoss), 12);
    }
    // The vision head starts at zero, so each example with vision targets adds exactly ln(20) (a
    // uniform guess over the table) and the batch's vision loss is ln(20)·k/E for a whole number k.
    const k = (vlSteps[0]!.visionLoss * vlSteps[0]!.examples) / Math.log(20);
    expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-6);
    expect(Math.round(k)).toBeGreaterThan(0);
    expect(vlSteps.at(-1)!.visionLoss).toBeLessThan(vlSteps[0]!.visionLoss - 0.5);
    const vl = await loadCheckpoint(join(runDir, "checkpoints", "vl", "final"));
    expect(vl.config.vision_vocab_size).toBe(20);
    expect(vl.params.get("model.vision_embed_tokens.weight")!.length).toBe(20 * 32);
    const text = await loadCheckpoint(join(runDir, "checkpoints", "text", "final"));
    expect(text.config.vision_vocab_size).toBeUndefined();
    const stage = records.find((r): r is StageRecord => r.kind === "stage" && r.stage === "vl")!;
    expect(stage.initSha256).toBe(paramsSha256(text.params, text.dims));
  }, 120_000);
});
