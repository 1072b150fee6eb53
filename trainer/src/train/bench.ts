/**
 * Training-loop benchmark: `node trainer/dist/train/bench.js` (after building the trainer).
 * Trains a small Llama (dim 256, 4 layers, Llama-2 vocabulary) on synthetic 2K-token packed rows
 * through `train()`, and reports per step: wall time, time inside the engine (the peer this loop is
 * measured against: what it adds on top of the model's own forward/backward), tokens/s and model
 * GFLOP/s; then AdamW update and checkpoint save times for the same parameters.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Recipe } from "@lwm/schemas";
import { saveCheckpoint } from "../checkpoint/checkpoint.js";
import { toHfConfig } from "../checkpoint/hf-config.js";
import { TINY_VOCAB, writeSyntheticStage } from "../data/synthetic.js";
import { createEngine } from "../model/engine.js";
import type { LlamaConfig } from "../model/api.js";
import { initParams } from "../model/params.js";
import { AdamW } from "../optim/adamw.js";
import { median as medianOf } from "./html.js";
import { readMetrics, type StepRecord } from "./metrics.js";
import { planTraining } from "./plan.js";
import { train } from "./trainer.js";

const SEQ = 2048;
const model = { dim: 256, layers: 4, heads: 4, ffnDim: 688, normEps: 1e-6 };
const vocab = { ...TINY_VOCAB, textVocabSize: 32000 };
const median = (xs: number[]) => medianOf(xs) ?? Number.NaN;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "lwm-train-bench-"));
  try {
    await writeSyntheticStage(join(root, "data"), { stage: "bench", seqLen: SEQ, rows: 16, vocab, seed: 1, minExample: 200, maxExample: 1500 });
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "bench",
      sources: [{ kind: "books", name: "s", paths: ["unused"] }],
      stages: [
        {
          name: "bench",
          seqLen: SEQ,
          ropeTheta: 1e6,
          mixture: { s: 1 },
          training: { steps: 5, tokensPerBatch: 2 * SEQ, lr: { peak: 1e-3 }, evalFraction: 0, checkpointEvery: 0 },
        },
      ],
      model,
    });
    console.log(
      `model dim ${model.dim}, ${model.layers} layers, ${model.heads} heads, ffn ${model.ffnDim}, vocab 32000; rows of ${SEQ} tokens, 2 rows per step (micro-batch 1 row)`,
    );
    console.log("workers layout  | step s (median) | engine s | loop overhead | tokens/s | model GFLOP/s");
    for (const workers of [1, 2]) {
      const plan = planTraining(recipe, { workers, layout: "balanced", hasInit: false });
      const runDir = join(root, `run-${workers}`);
      await train({ plan, dataRoot: join(root, "data"), runDir, resume: false, createEngine });
      const steps = (await readMetrics(join(runDir, "metrics.jsonl"))).filter((r): r is StepRecord => r.kind === "step").slice(1); // first step warms up
      const s = median(steps.map((r) => r.seconds));
      const e = median(steps.map((r) => r.engineSeconds));
      console.log(
        `${String(workers).padStart(7)} balanced| ${s.toFixed(3).padStart(15)} | ${e.toFixed(3).padStart(8)} | ${(((s - e) / s) * 100).toFixed(1).padStart(12)}% | ${median(
          steps.map((r) => r.tokensPerSecond),
        )
          .toFixed(0)
          .padStart(8)} | ${median(steps.map((r) => r.modelGflops))
          .toFixed(2)
          .padStart(13)}`,
      );
    }

    const cfg: LlamaConfig = { ...model, vocabSize: 32000, visionVocabSize: 0, ropeTheta: 1e6 };
    const params = initParams(cfg, 1);
    const grads = initParams(cfg, 2);
    const count = [...params.values()].reduce((a, p) => a + p.length, 0);
    const opt = new AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      opt.update(params, grads, 1e-4);
      times.push(performance.now() - t0);
    }
    console.log(
      `AdamW update of ${(count / 1e6).toFixed(2)}M parameters: ${median(times).toFixed(1)} ms (${(((count / median(times)) * 1e3) / 1e6).toFixed(0)}M params/s)`,
    );
    const saves: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await saveCheckpoint(join(root, "ckpt"), { params, cfg, config: toHfConfig(cfg, SEQ, vocab), optimizer: opt.exportState().tensors, state: {} });
      saves.push(performance.now() - t0);
    }
    console.log(`checkpoint save (weights + AdamW moments, ${((count * 12) / 2 ** 20).toFixed(0)} MiB): ${median(saves).toFixed(0)} ms`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
