/**
 * `lwm train` end to end: a run killed with SIGKILL mid-stage and continued with --resume produces
 * exactly the losses of an uninterrupted run (bit-identical numbers in metrics.jsonl).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticStage } from "@lwm/trainer/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { lwm, type CliResult } from "./cli.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");

let root: string;
let recipePath: string;

const recipe = {
  formatVersion: 1,
  name: "resume",
  sources: [{ kind: "books", name: "s", paths: ["unused"] }],
  stages: [
    {
      name: "a",
      seqLen: 32,
      ropeTheta: 1e4,
      mixture: { s: 1 },
      training: { steps: 40, tokensPerBatch: 64, lr: { peak: 1e-2, warmupSteps: 3, decay: "cosine" }, evalFraction: 0.1, evalEvery: 10, checkpointEvery: 4 },
    },
    {
      name: "b",
      seqLen: 64,
      ropeTheta: 1e5,
      mixture: { s: 1 },
      training: { steps: 16, tokensPerBatch: 128, lr: { peak: 3e-3 }, evalFraction: 0.1, checkpointEvery: 3 },
    },
  ],
  model: { dim: 16, layers: 1, heads: 2, ffnDim: 32 },
};

function losses(runDir: string): { kind: string; value: number }[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; loss?: number; evalLoss?: number; initSha256?: string })
    .map((r) => ({ kind: r.kind, value: r.kind === "step" ? r.loss! : r.kind === "eval" ? r.evalLoss! : Number.parseInt(r.initSha256!.slice(0, 12), 16) }));
}

function train(args: string[]): Promise<CliResult> {
  return lwm(["train", recipePath, "--data", join(root, "data"), "--workers", "2", ...args]);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "train-resume-"));
  await writeSyntheticStage(join(root, "data"), { stage: "a", seqLen: 32, rows: 50, seed: 3 });
  await writeSyntheticStage(join(root, "data"), { stage: "b", seqLen: 64, rows: 20, seed: 4 });
  recipePath = join(root, "recipe.json");
  writeFileSync(recipePath, JSON.stringify(recipe));
});

describe("lwm train", () => {
  /**
   * Starts a run and SIGKILLs it as soon as latest.json names a step checkpoint of `stage` at or
   * after `step` (any later one too, so a slow poll cannot miss the window); returns the run folder.
   */
  async function killAt(name: string, stage: string, step: number): Promise<string> {
    const dir = join(root, name);
    const child = spawn(process.execPath, [CLI, "train", recipePath, "--data", join(root, "data"), "--workers", "2", "--out", dir], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on("exit", (_code, signal) => res(signal)));
    const latest = join(dir, "latest.json");
    for (let i = 0; i < 6000; i++) {
      const at = existsSync(latest) ? new RegExp(`checkpoints/${stage}/step-(\\d+)`).exec(readFileSync(latest, "utf8")) : null;
      if (at && Number(at[1]) >= step) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    return dir;
  }

  it.skipIf(!existsSync(CLI))(
    "resumes after SIGKILL mid-stage with a bit-identical loss curve",
    async () => {
      const straight = join(root, "straight");
      const full = await train(["--out", straight, "--json"]);
      expect(full.stderr).toContain("[a] step");
      expect(full.code).toBe(0);
      const summary = JSON.parse(full.stdout) as { stages: { stage: string }[] };
      expect(summary.stages.map((s) => s.stage)).toEqual(["a", "b"]);
      expect(losses(straight).filter((r) => r.kind === "step")).toHaveLength(56);

      // Killed in stage "a" after its step-8 checkpoint, and in stage "b" after its step-3 checkpoint.
      for (const [name, stage, step, minSteps] of [
        ["killed-a", "a", 8, 8],
        ["killed-b", "b", 3, 43],
      ] as const) {
        const killed = await killAt(name, stage, step);
        const partial = losses(killed).filter((r) => r.kind === "step").length;
        expect(partial).toBeGreaterThanOrEqual(minSteps);
        expect(partial).toBeLessThan(56);

        // Without --resume the run folder is refused (exit 2), so nothing is overwritten by accident.
        const refused = await train(["--out", killed]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/already holds a checkpoint.*--resume/);

        // A resume must train the same thing: another ring size would change the sums' order.
        const changed = await train(["--out", killed, "--resume", "--workers", "1"]);
        expect(changed.code).toBe(2);
        expect(changed.stderr).toMatch(/--resume: .* differ from those the run/);

        const resumed = await train(["--out", killed, "--resume"]);
        expect(resumed.stderr).toContain("resuming from");
        expect(resumed.code).toBe(0);
        expect(losses(killed)).toEqual(losses(straight));
      }
    },
    240_000,
  );

  it.skipIf(!existsSync(CLI))(
    "on SIGTERM finishes the step, checkpoints where it is, exits 1, and resumes bit-identically",
    async () => {
      const straight = join(root, "straight");
      if (!existsSync(join(straight, "metrics.jsonl"))) expect((await train(["--out", straight])).code).toBe(0);
      const dir = join(root, "terminated");
      const child = spawn(process.execPath, [CLI, "train", recipePath, "--data", join(root, "data"), "--workers", "2", "--out", dir], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
      const metrics = join(dir, "metrics.jsonl");
      for (let i = 0; i < 6000; i++) {
        if (existsSync(metrics) && readFileSync(metrics, "utf8").split('"kind":"step"').length > 6) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGTERM");
      expect(await exited).toBe(1);
      const stoppedAt = /stopped on request after step (\d+); checkpoint (\S+)/.exec(stderr);
      expect(stoppedAt, stderr).not.toBeNull();
      expect(readFileSync(join(dir, "latest.json"), "utf8")).toContain(`step-${stoppedAt![1]!.padStart(6, "0")}`);
      expect(losses(dir).filter((r) => r.kind === "step")).toHaveLength(Number(stoppedAt![1]));

      const resumed = await train(["--out", dir, "--resume"]);
      expect(resumed.code).toBe(0);
      expect(losses(dir)).toEqual(losses(straight));
    },
    240_000,
  );

  it.skipIf(!existsSync(CLI))(
    "refuses bad flags and recipes before any work, naming the field",
    async () => {
      const bad = await train(["--workers", "3", "--out", join(root, "never")]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--workers 3: stages\[0\]\.seqLen 32 \(stage "a"\) is not divisible by 4·P = 12; the balanced layout/);
      expect(existsSync(join(root, "never"))).toBe(false);

      const unknown = await train(["--stages", "a,zz"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/--stages: unknown stage "zz"/);

      const badRecipe = join(root, "bad.json");
      writeFileSync(badRecipe, JSON.stringify({ ...recipe, stages: [{ ...recipe.stages[0], seqLen: 8 }] }));
      const r = await lwm(["train", badRecipe]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/stages\[0\]\.seqLen/);

      const noData = await train(["--data", join(root, "nowhere"), "--out", join(root, "nd")]);
      expect(noData.code).toBe(2);
      expect(noData.stderr).toMatch(/stage "a": no packed shards at/);
    },
    60_000,
  );
});
