/**
 * Progressive training through the CLI with the onnx RingAttention engine: two stages with their
 * own seqLen and θ; stage two starts from stage one's final weights; eval loss per stage; the loss
 * falls on a learnable corpus; and the saved checkpoint, read by the independent NumPy Llama, gives
 * the engine's logits.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, loadCheckpoint, paramsSha256, readMetrics, type EvalRecord, type StageRecord, type StepRecord } from "@lwm/trainer";
import { writeSyntheticStage } from "@lwm/trainer/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { lwm, type CliResult } from "./cli.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const PYTHON = "/usr/bin/python3";
const SCRIPT = join(repoRoot, "trainer/python/llama_ref.py");
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;
if (!hasNumpy) console.warn("skipped: /usr/bin/python3 with numpy not found (apt-get install python3-numpy)");

let root: string;
let runDir: string;
let run: CliResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "train-progressive-"));
  await writeSyntheticStage(join(root, "data"), { stage: "s32", seqLen: 32, rows: 60, seed: 5 });
  await writeSyntheticStage(join(root, "data"), { stage: "s64", seqLen: 64, rows: 40, seed: 6 });
  const recipe = {
    formatVersion: 1,
    name: "progressive",
    sources: [{ kind: "books", name: "s", paths: ["unused"] }],
    stages: [
      {
        name: "s32",
        seqLen: 32,
        ropeTheta: 1e4,
        mixture: { s: 1 },
        training: { steps: 30, tokensPerBatch: 128, lr: { peak: 1e-2, warmupSteps: 2 }, evalFraction: 0.15, weightDecay: 0 },
      },
      {
        name: "s64",
        seqLen: 64,
        ropeTheta: 1e6,
        mixture: { s: 1 },
        training: { steps: 8, tokensPerBatch: 128, lr: { peak: 3e-3, decay: "cosine", warmupSteps: 1 }, evalFraction: 0.2 },
      },
    ],
    model: { dim: 32, layers: 2, heads: 4, ffnDim: 64 },
  };
  writeFileSync(join(root, "recipe.json"), JSON.stringify(recipe));
  runDir = join(root, "run");
  run = await lwm(["train", join(root, "recipe.json"), "--data", join(root, "data"), "--out", runDir, "--workers", "2"]);
}, 240_000);

describe("progressive training (lwm train, onnx ring engine, P=2)", () => {
  it.skipIf(!existsSync(CLI))("trains each stage at its own length and θ from the previous stage's weights, with falling loss and per-stage eval", async () => {
    expect(run.stderr).toContain("[s64] done");
    expect(run.code).toBe(0);
    const records = await readMetrics(join(runDir, "metrics.jsonl"));
    const stages = records.filter((r): r is StageRecord => r.kind === "stage");
    const steps = records.filter((r): r is StepRecord => r.kind === "step");
    const evals = records.filter((r): r is EvalRecord => r.kind === "eval");
    expect(stages.map((s) => [s.stage, s.seqLen, s.ropeTheta])).toEqual([
      ["s32", 32, 1e4],
      ["s64", 64, 1e6],
    ]);
    expect(evals.map((e) => e.stage)).toEqual(["s32", "s64"]);

    const s32 = await loadCheckpoint(join(runDir, "checkpoints/s32/final"));
    const s64 = await loadCheckpoint(join(runDir, "checkpoints/s64/final"));
    expect(stages[1]!.initSha256).toBe(paramsSha256(s32.params, s32.dims));
    expect(stages[0]!.initSha256).not.toBe(stages[1]!.initSha256);
    expect([s32.config.rope_theta, s32.config.max_position_embeddings]).toEqual([1e4, 32]);
    expect([s64.config.rope_theta, s64.config.max_position_embeddings]).toEqual([1e6, 64]);

    const mean = (xs: StepRecord[]) => xs.reduce((a, r) => a + r.loss, 0) / xs.length;
    const start = mean(steps.slice(0, 3));
    expect(start).toBeGreaterThan(3.5); // ≈ ln 48 for an untrained model
    expect(mean(steps.filter((s) => s.stage === "s32").slice(-3))).toBeLessThan(start - 1);
    expect(steps.find((s) => s.stage === "s64")!.loss).toBeLessThan(start - 1); // not back to scratch
    expect(evals[1]!.evalLoss).toBeLessThan(start - 1);
    expect(readFileSync(join(runDir, "loss.html"), "utf8")).toContain("s64 (L=64");
  });

  it.skipIf(!existsSync(CLI))("--init starts the first stage from a Hugging Face checkpoint folder", async () => {
    const init = join(runDir, "checkpoints/s32/final");
    const out = join(root, "from-init");
    const r = await lwm(["train", join(root, "recipe.json"), "--data", join(root, "data"), "--out", out, "--stages", "s64", "--init", init]);
    expect(r.code).toBe(0);
    const stage = (await readMetrics(join(out, "metrics.jsonl"))).find((x): x is StageRecord => x.kind === "stage")!;
    const s32 = await loadCheckpoint(init);
    expect(stage.stage).toBe("s64");
    expect(stage.initFrom).toBe(init);
    expect(stage.initSha256).toBe(paramsSha256(s32.params, s32.dims));
    const bad = await lwm(["train", join(root, "recipe.json"), "--data", join(root, "data"), "--out", join(root, "bad-init"), "--init", join(root, "data")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--init .*config\.json: cannot read/);
  });

  it.skipIf(!existsSync(CLI) || !hasNumpy)("the trained checkpoint, read by the NumPy reference, gives the engine's logits (1e-4)", async () => {
    const ckpt = join(runDir, "checkpoints/s64/final");
    const { params, dims } = await loadCheckpoint(ckpt);
    const tokens = Uint32Array.from([1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 30, 40]);
    const engine = await createEngine(dims, { workers: 1 });
    let ours: Float32Array;
    try {
      ours = await engine.logitsLast(params, tokens);
    } finally {
      await engine.close();
    }
    const rowPath = join(root, "row.json");
    const outPath = join(root, "logits.f32");
    writeFileSync(rowPath, JSON.stringify({ tokens: [...tokens] }));
    const py = spawnSync(PYTHON, [SCRIPT, ckpt, rowPath, outPath], { encoding: "utf8" });
    expect(py.status).toBe(0);
    const raw = readFileSync(outPath);
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const last = all.subarray((tokens.length - 1) * dims.vocabSize, tokens.length * dims.vocabSize);
    expect(ours.length).toBe(dims.vocabSize);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - last[i]!));
    expect(worst).toBeLessThan(1e-4);
    expect(Math.max(...last.map(Math.abs))).toBeGreaterThan(1); // a trained model's logits are not tiny
  });
});
