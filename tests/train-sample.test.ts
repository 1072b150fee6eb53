/**
 * The trainer on what the pipeline really writes: `lwm run` packs datasets/sample into 2k and 8k
 * stages, then `lwm train` (steps cut to 2 per stage) trains both stages from those shards.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Recipe } from "@lwm/schemas";
import { loadCheckpoint, readMetrics, type StepRecord } from "@lwm/trainer";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const SAMPLE = join(repoRoot, "datasets/sample/recipe.json");

describe("lwm train on the packed sample dataset", () => {
  it.skipIf(!existsSync(CLI) || !existsSync(SAMPLE))("trains the 2k and 8k stages from the pipeline's shards", async () => {
    const root = mkdtempSync(join(tmpdir(), "train-sample-"));
    const data = join(root, "out");
    const packed = spawnSync(process.execPath, [CLI, "run", SAMPLE, "--out", data], { encoding: "utf8" });
    expect(packed.status, packed.stderr).toBe(0);

    const recipe = Recipe.parse(JSON.parse(readFileSync(SAMPLE, "utf8")));
    const short = { ...recipe, stages: recipe.stages.map((s) => ({ ...s, training: { ...s.training!, steps: 2, tokens: undefined, lr: { ...s.training!.lr, warmupSteps: 1 } } })) };
    const recipePath = join(root, "recipe.json");
    writeFileSync(recipePath, JSON.stringify(short));
    const runDir = join(root, "run");
    const trained = spawnSync(process.execPath, [CLI, "train", recipePath, "--data", data, "--out", runDir, "--workers", "2", "--json"], { encoding: "utf8" });
    expect(trained.status, trained.stderr).toBe(0);

    const steps = (await readMetrics(join(runDir, "metrics.jsonl"))).filter((r): r is StepRecord => r.kind === "step");
    expect(steps.map((s) => [s.stage, s.stageStep])).toEqual([["2k", 1], ["2k", 2], ["8k", 1], ["8k", 2]]);
    // An untrained Llama-2-vocabulary model starts near ln(32000) ≈ 10.37.
    expect(steps[0]!.loss).toBeGreaterThan(9.5);
    expect(steps[0]!.loss).toBeLessThan(11);
    for (const s of steps) expect(Number.isFinite(s.loss) && s.textAccuracy !== null).toBe(true);
    const final = await loadCheckpoint(join(runDir, "checkpoints/8k/final"));
    expect(final.config).toMatchObject({ vocab_size: 32000, hidden_size: recipe.model!.dim, rope_theta: 1e7, max_position_embeddings: 8192 });
  }, 300_000);
});
