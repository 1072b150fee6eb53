import { mkdir } from "node:fs/promises";
import { relative } from "node:path";
import type { EngineOptions } from "../model/api.js";
import type { TrainPlan } from "./plan.js";
import { RunFiles } from "./run-files.js";
import { runStage, type EngineFactory } from "./stage.js";
import { openStages, startPoint } from "./start.js";

export { CURVE_FILE, LATEST_FILE, METRICS_FILE } from "./run-files.js";
export { paramsSha256 } from "./sha.js";
export type { EngineFactory } from "./stage.js";

export interface TrainOptions {
  plan: TrainPlan;
  /** Folder holding <stage>/manifest.json for every stage (the pipeline's --out). */
  dataRoot: string;
  /** Run folder: metrics.jsonl, loss.html, latest.json, checkpoints/<stage>/… */
  runDir: string;
  resume: boolean;
  /** Hugging Face Llama checkpoint folder to start the first stage from. */
  init?: string;
  createEngine: EngineFactory;
  backend?: EngineOptions["backend"];
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Polled after every step; when it returns true the run checkpoints where it is and returns with `stopped`. */
  shouldStop?: () => boolean;
}

export interface StageSummary {
  stage: string;
  steps: number;
  finalLoss: number | null;
  evalLoss: number | null;
  checkpoint: string;
}

export interface TrainSummary {
  runDir: string;
  metrics: string;
  curve: string;
  stages: StageSummary[];
  /** True when the run stopped on request before its last stage was done (resume with --resume). */
  stopped: boolean;
}

/**
 * Progressive training: the plan's stages in order, each from the previous stage's weights with its
 * own seq_len, θ, data and a fresh optimizer. Checkpoints every `checkpointEvery` steps and at the
 * end of each stage; `resume` continues from <runDir>/latest.json so that the metrics are exactly
 * those of an uninterrupted run. Problems found before training starts throw PlanError.
 */
export async function train(o: TrainOptions): Promise<TrainSummary> {
  const { plan } = o;
  const log = o.log ?? (() => undefined);
  const files = new RunFiles(o.runDir, `lwm training: ${plan.recipeName}`);
  const datasets = await openStages(plan, o.dataRoot);
  try {
    await mkdir(o.runDir, { recursive: true });
    const start = await startPoint({ plan, files, resume: o.resume, ...(o.init !== undefined ? { init: o.init } : {}), log }, datasets[0]!.vocab);
    const counters = { globalStep: start.globalStep, consumed: start.consumed };
    let { params, initFrom } = start;
    const summaries: StageSummary[] = [];
    const summary = (stopped: boolean): TrainSummary => ({ runDir: o.runDir, metrics: files.metrics, curve: files.curve, stages: summaries, stopped });
    for (let i = start.startIndex; i < plan.stages.length; i++) {
      const result = await runStage({
        plan,
        index: i,
        dataset: datasets[i]!,
        dims: start.dims,
        params,
        midStage: start.midStage && start.midStage.state.stageIndex === i ? start.midStage : null,
        initFrom,
        counters,
        metrics: start.metrics,
        files,
        createEngine: o.createEngine,
        backend: o.backend,
        log,
        shouldStop: o.shouldStop ?? (() => false),
      });
      if (result.stopped) return summary(true);
      params = result.params;
      initFrom = relative(o.runDir, result.checkpoint);
      summaries.push({
        stage: plan.stages[i]!.stage.name,
        steps: plan.stages[i]!.steps,
        finalLoss: result.finalLoss,
        evalLoss: result.evalLoss,
        checkpoint: result.checkpoint,
      });
      // Between stages the final checkpoint is already a clean place to stop.
      if (i + 1 < plan.stages.length && o.shouldStop?.()) {
        log(`stopped on request after stage "${plan.stages[i]!.stage.name}" (continue with --resume)\n`);
        return summary(true);
      }
    }
    if (summaries.length === 0) await files.renderCurve();
    return summary(false);
  } finally {
    await Promise.all(datasets.map((d) => d.close()));
  }
}
