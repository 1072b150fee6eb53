import { saveCheckpoint } from "../checkpoint/checkpoint.js";
import { toHfConfig } from "../checkpoint/hf-config.js";
import { segmentsOf, type StageDataset } from "../data/dataset.js";
import { DataLoader } from "../data/loader.js";
import type { Engine, EngineOptions, LlamaConfig, Params, TrainRow } from "../model/api.js";
import { addVisionParams, checkParams, paramShapes, VISION_EMBED } from "../model/params.js";
import { AdamW, clipGlobalNorm } from "../optim/adamw.js";
import { lrAt } from "../optim/schedule.js";
import { trainStepFlops } from "./flops.js";
import type { EvalRecord, MetricsLog, StepRecord } from "./metrics.js";
import type { StagePlan, TrainPlan } from "./plan.js";
import { StepProgress } from "./progress.js";
import type { RunFiles } from "./run-files.js";
import { paramsSha256, planSha256 } from "./sha.js";
import { stageConfig, type MidStage, type ModelDims } from "./start.js";
import type { TrainState } from "./state.js";
import { accuracy, addLoss, chunks, zeroSums } from "./sums.js";

export type EngineFactory = (cfg: LlamaConfig, opts: EngineOptions) => Promise<Engine>;

/** Counters that run across stages (and are saved in every checkpoint). */
export interface RunCounters {
  globalStep: number;
  /** rows × seqLen consumed per stage. */
  consumed: Record<string, number>;
}

export interface StageContext {
  plan: TrainPlan;
  index: number;
  dataset: StageDataset;
  dims: ModelDims;
  params: Params;
  /** Set when this stage was interrupted and is being resumed. */
  midStage: MidStage | null;
  initFrom: string;
  counters: RunCounters;
  metrics: MetricsLog;
  files: RunFiles;
  createEngine: EngineFactory;
  backend: EngineOptions["backend"] | undefined;
  log: (line: string) => void;
  /** Polled after every step: true asks the stage to checkpoint where it is and stop (SIGTERM, SIGINT). */
  shouldStop: () => boolean;
}

export interface StageResult {
  params: Params;
  checkpoint: string;
  finalLoss: number | null;
  evalLoss: number | null;
  /** True when the stage stopped early on request; `checkpoint` is then the step checkpoint to resume from. */
  stopped: boolean;
}

/** Only the tensors `cfg` has (a text stage after a vision-language one drops the vision table). */
function restrictTo(params: Params, cfg: LlamaConfig): Params {
  const out: Params = new Map();
  for (const name of paramShapes(cfg).keys()) {
    const a = params.get(name);
    if (a) out.set(name, a);
  }
  return out;
}

/** Sums the gradients of a step's engine calls into the first call's (copied) arrays, in call order. */
function accumulate(into: Params | null, grads: Params): Params {
  if (!into) return new Map([...grads].map(([k, g]) => [k, g.slice()]));
  for (const [k, g] of grads) {
    const acc = into.get(k)!;
    for (let j = 0; j < g.length; j++) acc[j] = acc[j]! + g[j]!;
  }
  return into;
}

/**
 * One stage: from `ctx.params` (or the interrupted stage's checkpoint) through `steps` optimizer
 * steps with a fresh AdamW, evaluating and checkpointing as the stage's training config says, and
 * ending with checkpoints/<stage>/final.
 */
export async function runStage(ctx: StageContext): Promise<StageResult> {
  const sp: StagePlan = ctx.plan.stages[ctx.index]!;
  const { stage, training: t } = sp;
  const ds = ctx.dataset;
  const cfg = stageConfig(ctx.dims, ds.vocab, stage);
  const mode = stage.kind;
  const { counters, metrics } = ctx;
  let params = ctx.params;
  // The vision table's init depends on the stage's own seed and place in the recipe only, so a run
  // continued stage by stage gets the same weights as one run of all stages.
  if (cfg.visionVocabSize > 0 && !params.has(VISION_EMBED)) params = addVisionParams(params, cfg, t.seed + 1 + sp.recipeIndex);
  params = restrictTo(params, cfg);
  checkParams(params, cfg);

  const loader = new DataLoader(ds, { seed: t.seed, evalFraction: t.evalFraction, batchRows: sp.batchRows }, ctx.midStage?.state.loader);
  const epochs = (sp.steps * sp.batchRows) / loader.trainRows.length;
  ctx.log(
    `[${stage.name}] ${sp.steps} steps × ${sp.batchRows} rows of ${stage.seqLen} tokens (θ ${stage.ropeTheta}) over ${loader.trainRows.length} training rows ` +
      `(${epochs.toFixed(2)} epochs), ${loader.evalRows.length} held out\n`,
  );
  if (loader.evalRows.length === 0) ctx.log(`[${stage.name}] warning: no held-out rows (evalFraction ${t.evalFraction}); no eval loss for this stage\n`);
  const opt = new AdamW({ betas: t.betas, eps: t.eps, weightDecay: t.weightDecay });
  let stageStep = 0;
  if (ctx.midStage) {
    opt.importState(ctx.midStage.state.optimizerStep, ctx.midStage.optimizer, params);
    stageStep = ctx.midStage.state.stageStep;
  } else {
    counters.consumed[stage.name] = 0;
    await metrics.append({
      kind: "stage",
      stage: stage.name,
      kindOfStage: stage.kind,
      seqLen: stage.seqLen,
      ropeTheta: stage.ropeTheta,
      steps: sp.steps,
      batchRows: sp.batchRows,
      trainRows: loader.trainRows.length,
      evalRows: loader.evalRows.length,
      initFrom: ctx.initFrom,
      initSha256: paramsSha256(params, cfg),
      startStep: counters.globalStep,
    });
  }

  const checkpoint = async (name: string, stageDone: boolean): Promise<string> => {
    const dir = ctx.files.checkpointDir(stage.name, name);
    const state: TrainState = {
      formatVersion: 1,
      recipeName: ctx.plan.recipeName,
      stages: ctx.plan.stages.map((s) => s.stage.name),
      planSha256: planSha256(ctx.plan),
      stageIndex: ctx.index,
      stage: stage.name,
      stageStep,
      stageDone,
      globalStep: counters.globalStep,
      optimizerStep: opt.step,
      loader: loader.state(),
      consumedTokens: counters.consumed,
      metricsLines: metrics.count,
    };
    await saveCheckpoint(dir, {
      params,
      cfg,
      config: toHfConfig(cfg, stage.seqLen, ds.vocab),
      // A finished stage hands on its weights only: the next stage starts a fresh optimizer.
      ...(stageDone ? {} : { optimizer: opt.exportState().tensors }),
      state,
    });
    await ctx.files.checkpointWritten(stage.name, dir);
    return dir;
  };

  const engine = await ctx.createEngine(cfg, { workers: ctx.plan.workers, layout: ctx.plan.layout, ...(ctx.backend ? { backend: ctx.backend } : {}) });
  let finalLoss: number | null = null;
  let evalLoss: number | null = null;

  /** Loss over the first `evalRows` held-out rows, normalised by their own E. */
  const evaluate = async (): Promise<void> => {
    const indices = [...loader.evalRows.slice(0, t.evalRows)];
    if (indices.length === 0) return;
    const rows: TrainRow[] = [];
    for (const r of indices) rows.push(await ds.row(r));
    const examples = rows.reduce((s, r) => s + segmentsOf(r), 0);
    const sums = zeroSums();
    for (const c of chunks(rows, t.microBatchRows)) addLoss(sums, await engine.forward(params, c, examples, mode));
    const rec: EvalRecord = {
      kind: "eval",
      stage: stage.name,
      stageStep,
      step: counters.globalStep,
      evalLoss: sums.loss,
      evalTextLoss: sums.textLoss,
      evalVisionLoss: sums.visionLoss,
      evalTextAccuracy: accuracy(sums.textCorrect, sums.textTargets),
      evalVisionAccuracy: accuracy(sums.visionCorrect, sums.visionTargets),
      rows: rows.length,
      examples,
    };
    await metrics.append(rec);
    evalLoss = rec.evalLoss;
    ctx.log(`[${stage.name}] eval loss ${rec.evalLoss.toFixed(4)} over ${rows.length} held-out rows (${examples} examples)\n`);
    await ctx.files.renderCurve();
  };

  try {
    const progress = new StepProgress(stage.name, sp.steps, stageStep, ctx.log);
    const tokens = sp.batchRows * stage.seqLen;
    while (stageStep < sp.steps) {
      const started = performance.now();
      const batch = await loader.next();
      const sums = zeroSums();
      let grads: Params | null = null;
      for (const c of chunks(batch.rows, t.microBatchRows)) {
        const res = await engine.forwardBackward(params, c, batch.examples, mode);
        addLoss(sums, res);
        grads = accumulate(grads, res.grads);
      }
      const gradNorm = clipGlobalNorm(grads!, t.clip);
      const lr = lrAt(t.lr, stageStep, sp.steps);
      opt.update(params, grads!, lr);
      stageStep += 1;
      counters.globalStep += 1;
      counters.consumed[stage.name] = (counters.consumed[stage.name] ?? 0) + tokens;
      const seconds = (performance.now() - started) / 1000;
      const rec: StepRecord = {
        kind: "step",
        stage: stage.name,
        stageStep,
        step: counters.globalStep,
        loss: sums.loss,
        textLoss: sums.textLoss,
        visionLoss: sums.visionLoss,
        textAccuracy: accuracy(sums.textCorrect, sums.textTargets),
        visionAccuracy: accuracy(sums.visionCorrect, sums.visionTargets),
        lr,
        gradNorm,
        examples: batch.examples,
        stageTokens: counters.consumed[stage.name]!,
        totalTokens: Object.values(counters.consumed).reduce((a, b) => a + b, 0),
        tokensPerSecond: tokens / seconds,
        modelGflops: trainStepFlops(cfg, tokens, sums.unmaskedPairs) / seconds / 1e9,
        seconds,
        engineSeconds: sums.engineMs / 1000,
      };
      await metrics.append(rec);
      finalLoss = rec.loss;
      progress.step(stageStep, rec.loss, rec.tokensPerSecond);
      if (!Number.isFinite(rec.loss)) throw new Error(`stage "${stage.name}" step ${stageStep}: loss is ${rec.loss}; stopping (the last checkpoint is intact)`);
      const midStage = stageStep < sp.steps;
      if (midStage && t.evalEvery > 0 && stageStep % t.evalEvery === 0) await evaluate();
      const stop = midStage && ctx.shouldStop();
      if (midStage && (stop || (t.checkpointEvery > 0 && stageStep % t.checkpointEvery === 0))) {
        const dir = await checkpoint(`step-${String(stageStep).padStart(6, "0")}`, false);
        await ctx.files.renderCurve();
        if (stop) {
          ctx.log(`[${stage.name}] stopped on request after step ${stageStep}; checkpoint ${dir} (continue with --resume)\n`);
          return { params, checkpoint: dir, finalLoss, evalLoss, stopped: true };
        }
      }
    }
    await evaluate();
  } finally {
    await engine.close();
  }
  const dir = await checkpoint("final", true);
  await ctx.files.renderCurve();
  ctx.log(`[${stage.name}] done: ${sp.steps} steps, checkpoint ${dir}\n`);
  return { params, checkpoint: dir, finalLoss, evalLoss, stopped: false };
}
