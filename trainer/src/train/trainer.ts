import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { VocabLayout } from "@lwm/schemas";
import { loadCheckpoint, loadHfCheckpoint, saveCheckpoint } from "../checkpoint/checkpoint.js";
import { toHfConfig } from "../checkpoint/hf-config.js";
import { segmentsOf, StageDataset } from "../data/dataset.js";
import { DataLoader } from "../data/loader.js";
import type { Engine, EngineOptions, LlamaConfig, LossResult, Params, StageMode, TrainRow } from "../model/api.js";
import { addVisionParams, checkParams, initParams, paramShapes, VISION_EMBED } from "../model/params.js";
import { AdamW, clipGlobalNorm } from "../optim/adamw.js";
import { lrAt } from "../optim/schedule.js";
import { renderLossCurve } from "./curve-html.js";
import { trainStepFlops } from "./flops.js";
import { MetricsLog, readMetrics, type EvalRecord, type MetricsRecord, type StepRecord } from "./metrics.js";
import { PlanError, type StagePlan, type TrainPlan } from "./plan.js";
import { StepProgress } from "./progress.js";
import { LatestPointer, TrainState } from "./state.js";

export type EngineFactory = (cfg: LlamaConfig, opts: EngineOptions) => Promise<Engine>;

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
}

export const METRICS_FILE = "metrics.jsonl";
export const CURVE_FILE = "loss.html";
export const LATEST_FILE = "latest.json";

/** The model of a stage: recipe dims, the shards' vocabulary, the stage's θ; a vision table only for vision-language stages. */
function stageConfig(dims: Pick<LlamaConfig, "dim" | "layers" | "heads" | "ffnDim" | "normEps">, vocab: VocabLayout, sp: StagePlan): LlamaConfig {
  return {
    vocabSize: vocab.textVocabSize,
    visionVocabSize: sp.stage.kind === "vision-language" ? vocab.visionVocabSize : 0,
    dim: dims.dim,
    layers: dims.layers,
    heads: dims.heads,
    ffnDim: dims.ffnDim,
    normEps: dims.normEps,
    ropeTheta: sp.stage.ropeTheta,
  };
}

/** sha256 over the text model's tensors (paramShapes order): identifies the weights a stage starts from. */
export function paramsSha256(params: Params, cfg: LlamaConfig): string {
  const h = createHash("sha256");
  for (const name of paramShapes({ ...cfg, visionVocabSize: 0 }).keys()) {
    const a = params.get(name)!;
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest("hex");
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

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

function accuracy(correct: number, targets: number): number | null {
  return targets > 0 ? correct / targets : null;
}

interface Sums {
  loss: number;
  textLoss: number;
  visionLoss: number;
  textCorrect: number;
  textTargets: number;
  visionCorrect: number;
  visionTargets: number;
  unmaskedPairs: number;
  engineMs: number;
}

function addLoss(s: Sums, r: LossResult): void {
  s.loss += r.loss;
  s.textLoss += r.textLoss;
  s.visionLoss += r.visionLoss;
  s.textCorrect += r.textCorrect;
  s.textTargets += r.textTargets;
  s.visionCorrect += r.visionCorrect;
  s.visionTargets += r.visionTargets;
  s.unmaskedPairs += r.stats.unmaskedPairs;
  s.engineMs += r.stats.wallMs;
}

const zeroSums = (): Sums => ({ loss: 0, textLoss: 0, visionLoss: 0, textCorrect: 0, textTargets: 0, visionCorrect: 0, visionTargets: 0, unmaskedPairs: 0, engineMs: 0 });

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Progressive training: the plan's stages in order, each from the previous stage's weights with its
 * own seq_len, θ, data and a fresh optimizer. Checkpoints every `checkpointEvery` steps and at the
 * end of each stage; `resume` continues from <runDir>/latest.json so that the metrics are exactly
 * those of an uninterrupted run.
 */
export async function train(o: TrainOptions): Promise<TrainSummary> {
  const { plan, runDir } = o;
  const log = o.log ?? (() => undefined);
  const latestPath = join(runDir, LATEST_FILE);
  const metricsPath = join(runDir, METRICS_FILE);
  const curvePath = join(runDir, CURVE_FILE);
  if (!o.resume && existsSync(latestPath)) {
    throw new PlanError(`--out ${runDir}: this run folder already holds a checkpoint (${LATEST_FILE}); pass --resume to continue it or choose another --out`);
  }

  // Open every stage's data first: a missing or mismatched stage fails before any training.
  const datasets: StageDataset[] = [];
  try {
    for (const sp of plan.stages) {
      const dir = join(o.dataRoot, sp.stage.name);
      try {
        datasets.push(await StageDataset.open(dir, { stage: sp.stage.name, seqLen: sp.stage.seqLen }));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new PlanError(code === "ENOENT" ? `stage "${sp.stage.name}": no packed shards at ${dir} (${(err as Error).message}); run the pipeline first or pass --data` : (err as Error).message);
      }
    }
    const textVocab = datasets[0]!.vocab.textVocabSize;
    datasets.forEach((d, i) => {
      if (d.vocab.textVocabSize !== textVocab) throw new PlanError(`${d.dir}: text vocabulary ${d.vocab.textVocabSize} differs from stage "${plan.stages[0]!.stage.name}" (${textVocab})`);
      const sp = plan.stages[i]!;
      if (sp.stage.kind === "vision-language" && d.vocab.visionVocabSize === 0) throw new PlanError(`${d.dir}: stage "${sp.stage.name}" is vision-language but its shards have no vision table`);
    });

    await mkdir(runDir, { recursive: true });
    const stageNames = plan.stages.map((s) => s.stage.name);
    let params: Params;
    let dims: Pick<LlamaConfig, "dim" | "layers" | "heads" | "ffnDim" | "normEps">;
    let startIndex = 0;
    let resumed: { state: TrainState; optimizer: Map<string, { shape: readonly number[]; data: Float32Array }> | null; from: string } | null = null;
    let metrics: MetricsLog;
    let initFrom: string;
    let consumed: Record<string, number> = {};
    let globalStep = 0;
    const initSeed = plan.stages[0]!.training.seed;

    if (o.resume && existsSync(latestPath)) {
      const pointer = LatestPointer.parse(JSON.parse(await readFile(latestPath, "utf8")));
      const dir = join(runDir, pointer.checkpoint);
      const ckpt = await loadCheckpoint(dir).catch((err: Error) => {
        throw new PlanError(`--resume: cannot load ${dir}: ${err.message}`);
      });
      const parsed = TrainState.safeParse(ckpt.state);
      if (!parsed.success) throw new Error(`${dir}/state.json: ${parsed.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ")}`);
      const state = parsed.data;
      if (state.stages.join(",") !== stageNames.join(",")) {
        throw new PlanError(`--resume: the run in ${runDir} trains stages ${state.stages.join(",")}, this command asks for ${stageNames.join(",")}`);
      }
      params = ckpt.params;
      dims = ckpt.dims;
      metrics = await MetricsLog.open(metricsPath, state.metricsLines);
      startIndex = state.stageDone ? state.stageIndex + 1 : state.stageIndex;
      resumed = state.stageDone ? null : { state, optimizer: ckpt.optimizer, from: dir };
      initFrom = relative(runDir, dir) || dir;
      log(`resuming from ${dir} (stage "${state.stage}", step ${state.stageStep}${state.stageDone ? ", done" : ""})\n`);
      consumed = { ...state.consumedTokens };
      globalStep = state.globalStep;
    } else {
      if (o.resume) log(`--resume: ${runDir} has no checkpoint yet; starting from the beginning\n`);
      metrics = await MetricsLog.open(metricsPath, 0);
      const first = plan.stages[0]!;
      if (o.init) {
        const init = o.init;
        const hf = await loadHfCheckpoint(init).catch((err: Error) => {
          throw new PlanError(`--init ${init}: ${err.message}`);
        });
        const m = plan.model;
        if (m && (m.dim !== hf.dims.dim || m.layers !== hf.dims.layers || m.heads !== hf.dims.heads || m.ffnDim !== hf.dims.ffnDim)) {
          throw new PlanError(`--init ${o.init}: model is dim ${hf.dims.dim}, layers ${hf.dims.layers}, heads ${hf.dims.heads}, ffnDim ${hf.dims.ffnDim}; the recipe's model section says ${m.dim}, ${m.layers}, ${m.heads}, ${m.ffnDim}`);
        }
        if (hf.dims.vocabSize !== datasets[0]!.vocab.textVocabSize) {
          throw new PlanError(`--init ${o.init}: vocab_size ${hf.dims.vocabSize}, the shards' text vocabulary is ${datasets[0]!.vocab.textVocabSize}`);
        }
        dims = hf.dims;
        params = hf.params;
        initFrom = o.init;
      } else {
        dims = plan.model!;
        params = initParams(stageConfig(dims, datasets[0]!.vocab, { ...first, stage: { ...first.stage, kind: "text" } }), initSeed);
        initFrom = `initParams(seed ${initSeed})`;
      }
    }

    const summaries: StageSummary[] = [];
    const renderCurve = async () => writeAtomic(curvePath, renderLossCurve(`lwm training: ${plan.recipeName}`, await readMetrics(metricsPath)));

    for (let i = startIndex; i < plan.stages.length; i++) {
      const sp = plan.stages[i]!;
      const ds = datasets[i]!;
      const t = sp.training;
      const cfg = stageConfig(dims, ds.vocab, sp);
      const mode: StageMode = sp.stage.kind;
      const stageResume = resumed && resumed.state.stageIndex === i ? resumed : null;
      if (cfg.visionVocabSize > 0 && !params.has(VISION_EMBED)) params = addVisionParams(params, cfg, initSeed + 1 + i);
      params = restrictTo(params, cfg);
      checkParams(params, cfg);

      const loader = new DataLoader(ds, { seed: t.seed, evalFraction: t.evalFraction, batchRows: sp.batchRows }, stageResume?.state.loader);
      const opt = new AdamW({ betas: t.betas, eps: t.eps, weightDecay: t.weightDecay });
      let stageStep = 0;
      if (stageResume) {
        if (!stageResume.optimizer) throw new Error(`${stageResume.from}: mid-stage checkpoint without optimizer.safetensors`);
        opt.importState(stageResume.state.optimizerStep, stageResume.optimizer, params);
        stageStep = stageResume.state.stageStep;
      } else {
        consumed[sp.stage.name] = 0;
        await metrics.append({
          kind: "stage",
          stage: sp.stage.name,
          kindOfStage: sp.stage.kind,
          seqLen: sp.stage.seqLen,
          ropeTheta: sp.stage.ropeTheta,
          steps: sp.steps,
          batchRows: sp.batchRows,
          trainRows: loader.trainRows.length,
          evalRows: loader.evalRows.length,
          initFrom,
          initSha256: paramsSha256(params, cfg),
          startStep: globalStep,
        });
      }

      const stageDir = join(runDir, "checkpoints", sp.stage.name);
      const checkpoint = async (name: string, stageDone: boolean): Promise<string> => {
        const dir = join(stageDir, name);
        const state: TrainState = {
          formatVersion: 1,
          recipeName: plan.recipeName,
          stages: stageNames,
          stageIndex: i,
          stage: sp.stage.name,
          stageStep,
          stageDone,
          globalStep,
          optimizerStep: opt.step,
          loader: loader.state(),
          consumedTokens: consumed,
          metricsLines: metrics.count,
          initSeed,
        };
        await saveCheckpoint(dir, {
          params,
          cfg,
          config: toHfConfig(cfg, sp.stage.seqLen, ds.vocab),
          // A finished stage hands on its weights only: the next stage starts a fresh optimizer.
          ...(stageDone ? {} : { optimizer: opt.exportState().tensors }),
          state,
        });
        await writeAtomic(latestPath, JSON.stringify({ checkpoint: relative(runDir, dir) }) + "\n");
        // Older step checkpoints of this stage are superseded; the stage's final one is kept.
        for (const entry of await readdir(stageDir)) {
          if (entry !== name && /^step-\d+$/.test(entry)) await rm(join(stageDir, entry), { recursive: true, force: true });
        }
        return dir;
      };

      const engine = await o.createEngine(cfg, { workers: plan.workers, layout: plan.layout, ...(o.backend ? { backend: o.backend } : {}) });
      let lastLoss: number | null = null;
      let lastEval: number | null = null;
      try {
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
            stage: sp.stage.name,
            stageStep,
            step: globalStep,
            evalLoss: sums.loss,
            evalTextLoss: sums.textLoss,
            evalVisionLoss: sums.visionLoss,
            evalTextAccuracy: accuracy(sums.textCorrect, sums.textTargets),
            evalVisionAccuracy: accuracy(sums.visionCorrect, sums.visionTargets),
            rows: rows.length,
            examples,
          };
          await metrics.append(rec);
          lastEval = rec.evalLoss;
          log(`[${sp.stage.name}] eval loss ${rec.evalLoss.toFixed(4)} over ${rows.length} held-out rows (${examples} examples)\n`);
          await renderCurve();
        };

        const progress = new StepProgress(sp.stage.name, sp.steps, stageStep, log);
        while (stageStep < sp.steps) {
          const started = performance.now();
          const batch = await loader.next();
          const sums = zeroSums();
          let grads: Params | null = null;
          for (const c of chunks(batch.rows, t.microBatchRows)) {
            const res = await engine.forwardBackward(params, c, batch.examples, mode);
            addLoss(sums, res);
            if (!grads) grads = new Map([...res.grads].map(([k, g]) => [k, g.slice()]));
            else {
              for (const [k, g] of res.grads) {
                const acc = grads.get(k)!;
                for (let j = 0; j < g.length; j++) acc[j] = acc[j]! + g[j]!;
              }
            }
          }
          const gradNorm = clipGlobalNorm(grads!, t.clip);
          const lr = lrAt(t.lr, stageStep, sp.steps);
          opt.update(params, grads!, lr);
          stageStep += 1;
          globalStep += 1;
          const tokens = sp.batchRows * sp.stage.seqLen;
          consumed[sp.stage.name] = (consumed[sp.stage.name] ?? 0) + tokens;
          const seconds = (performance.now() - started) / 1000;
          const rec: StepRecord = {
            kind: "step",
            stage: sp.stage.name,
            stageStep,
            step: globalStep,
            loss: sums.loss,
            textLoss: sums.textLoss,
            visionLoss: sums.visionLoss,
            textAccuracy: accuracy(sums.textCorrect, sums.textTargets),
            visionAccuracy: accuracy(sums.visionCorrect, sums.visionTargets),
            lr,
            gradNorm,
            examples: batch.examples,
            stageTokens: consumed[sp.stage.name]!,
            totalTokens: Object.values(consumed).reduce((a, b) => a + b, 0),
            tokensPerSecond: tokens / seconds,
            modelGflops: trainStepFlops(cfg, tokens, sums.unmaskedPairs) / seconds / 1e9,
            seconds,
            engineSeconds: sums.engineMs / 1000,
          };
          await metrics.append(rec);
          lastLoss = rec.loss;
          progress.step(stageStep, rec.loss, rec.tokensPerSecond);
          if (!Number.isFinite(rec.loss)) throw new Error(`stage "${sp.stage.name}" step ${stageStep}: loss is ${rec.loss}; stopping (the last checkpoint is intact)`);
          if (t.evalEvery > 0 && stageStep % t.evalEvery === 0 && stageStep < sp.steps) await evaluate();
          if (t.checkpointEvery > 0 && stageStep % t.checkpointEvery === 0 && stageStep < sp.steps) {
            await checkpoint(`step-${String(stageStep).padStart(6, "0")}`, false);
            await renderCurve();
          }
        }
        await evaluate();
      } finally {
        await engine.close();
      }
      const finalDir = await checkpoint("final", true);
      await renderCurve();
      log(`[${sp.stage.name}] done: ${sp.steps} steps, checkpoint ${finalDir}\n`);
      summaries.push({ stage: sp.stage.name, steps: sp.steps, finalLoss: lastLoss, evalLoss: lastEval, checkpoint: finalDir });
      initFrom = relative(runDir, finalDir);
      resumed = null;
    }
    if (summaries.length === 0) await renderCurve();
    return { runDir, metrics: metricsPath, curve: curvePath, stages: summaries };
  } finally {
    await Promise.all(datasets.map((d) => d.close()));
  }
}

export type { MetricsRecord };
