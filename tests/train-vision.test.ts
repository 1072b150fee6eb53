/**
 * `lwm train` on a real vision-language stage (vision-helpers: lavfi media, the sample's VQ model,
 * packed by pack): the vision embedding and head are added, the loss is 0.5·(text + vision), both
 * parts are recorded per step in metrics.jsonl, fall over 20 steps of a tiny model, and loss.html
 * draws both; the final checkpoint carries the vision tensors.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMetrics, type StageRecord, type StepRecord } from "@lwm/trainer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildVisionStage, repoRoot, type VisionFixture } from "./vision-helpers.js";

const CLI = join(repoRoot, "packages/cli/dist/main.js");
const STEPS = 20;

let root: string;
let fx: VisionFixture;
let run: { status: number; stderr: string };
const runDir = () => join(root, "run");

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync(join(tmpdir(), "lwm-train-vision-"));
  fx = await buildVisionStage(root, {
    seqLen: 1024,
    maxFrames: 2,
    repeat: 2,
    training: { steps: STEPS, tokensPerBatch: 2048, lr: { peak: 1e-2, warmupSteps: 2 }, evalFraction: 0.1, evalRows: 2, weightDecay: 0 },
    model: { dim: 32, layers: 1, heads: 2, ffnDim: 64 },
  });
  run = await new Promise((done) =>
    execFile(
      process.execPath,
      [CLI, "train", fx.recipePath, "--data", fx.outDir, "--out", runDir()],
      { env: { ...process.env, LWM_LOG_LEVEL: "warn" } },
      (err, _stdout, stderr) => done({ status: err ? (typeof err.code === "number" ? err.code : -1) : 0, stderr }),
    ),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lwm train on a vision-language stage", () => {
  it("records text and vision losses separately, both finite and falling, and trains on 0.5·(text + vision)", async () => {
    expect(run.status, run.stderr).toBe(0);
    const records = await readMetrics(join(runDir(), "metrics.jsonl"));
    const stage = records.find((r): r is StageRecord => r.kind === "stage")!;
    expect(stage).toMatchObject({ stage: "vl", kindOfStage: "vision-language", seqLen: 1024 });
    const steps = records.filter((r): r is StepRecord => r.kind === "step");
    expect(steps).toHaveLength(STEPS);
    for (const s of steps) {
      expect(Number.isFinite(s.textLoss) && Number.isFinite(s.visionLoss), `step ${s.step}`).toBe(true);
      expect(s.loss).toBeCloseTo(0.5 * (s.textLoss + s.visionLoss), 5);
    }
    // A step's batch may hold no target of a modality (its accuracy is then null and its loss 0): compare steps that do.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [part, accuracy] of [
      ["textLoss", "textAccuracy"],
      ["visionLoss", "visionAccuracy"],
    ] as const) {
      const scored = steps.filter((s) => s[accuracy] !== null).map((s) => s[part]);
      expect(scored.length, part).toBeGreaterThanOrEqual(8);
      expect(Math.min(...scored)).toBeGreaterThan(0);
      const first = mean(scored.slice(0, 3));
      const last = mean(scored.slice(-3));
      expect(last, `${part}: first 3 scored steps ${first.toFixed(3)}, last 3 ${last.toFixed(3)}`).toBeLessThan(first);
    }
  });

  it("adds the vision table to the checkpoint and draws both losses in loss.html", () => {
    const config = JSON.parse(readFileSync(join(runDir(), "checkpoints/vl/final/config.json"), "utf8")) as { vision_vocab_size?: number };
    expect(config.vision_vocab_size).toBe(8448);
    const weights = readFileSync(join(runDir(), "checkpoints/vl/final/model.safetensors"));
    const header = JSON.parse(weights.subarray(8, 8 + Number(weights.readBigUInt64LE(0))).toString("utf8")) as Record<string, { shape: number[] }>;
    expect(header["vision_head.weight"]?.shape).toEqual([8448, 32]);
    expect(header["model.vision_embed_tokens.weight"]?.shape).toEqual([8448, 32]);
    const html = readFileSync(join(runDir(), "loss.html"), "utf8");
    expect(html).toMatch(/<title>text loss, vl<\/title>/);
    expect(html).toMatch(/<title>vision loss, vl<\/title>/);
  });
});
