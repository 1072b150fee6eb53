import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { formatZodError, type VocabLayout } from "@lwm/schemas";
import { loadCheckpoint, loadHfCheckpoint, STATE_FILE, type LoadedCheckpoint } from "../checkpoint/checkpoint.js";
import type { TensorMap } from "../checkpoint/safetensors.js";
import { StageDataset } from "../data/dataset.js";
import type { LlamaConfig, Params } from "../model/api.js";
import { initParams } from "../model/params.js";
import { MetricsLog } from "./metrics.js";
import { PlanError, type StagePlan, type TrainPlan } from "./plan.js";
import type { RunFiles } from "./run-files.js";
import { planSha256 } from "./sha.js";
import { LatestPointer, TrainState } from "./state.js";

export type ModelDims = Pick<LlamaConfig, "dim" | "layers" | "heads" | "ffnDim" | "normEps">;

/** The model of a stage: recipe dims, the shards' vocabulary, the stage's θ; a vision table only for vision-language stages. */
export function stageConfig(dims: ModelDims, vocab: VocabLayout, stage: StagePlan["stage"]): LlamaConfig {
  return {
    vocabSize: vocab.textVocabSize,
    visionVocabSize: stage.kind === "vision-language" ? vocab.visionVocabSize : 0,
    dim: dims.dim,
    layers: dims.layers,
    heads: dims.heads,
    ffnDim: dims.ffnDim,
    normEps: dims.normEps,
    ropeTheta: stage.ropeTheta,
  };
}

/**
 * Opens every stage's <dataRoot>/<stage>/ before any training, so that a missing or mismatched
 * stage (wrong seqLen, other vocabulary, no vision table for a vision-language stage) fails first.
 */
export async function openStages(plan: TrainPlan, dataRoot: string): Promise<StageDataset[]> {
  const datasets: StageDataset[] = [];
  try {
    for (const sp of plan.stages) {
      const dir = join(dataRoot, sp.stage.name);
      try {
        datasets.push(await StageDataset.open(dir, { stage: sp.stage.name, seqLen: sp.stage.seqLen, kind: sp.stage.kind }));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
        throw new PlanError(missing ? `stage "${sp.stage.name}": no packed shards at ${dir} (${message}); run the pipeline first or pass --data` : message);
      }
    }
    const textVocab = datasets[0]!.vocab.textVocabSize;
    datasets.forEach((d, i) => {
      const sp = plan.stages[i]!;
      if (d.vocab.textVocabSize !== textVocab)
        throw new PlanError(`${d.dir}: text vocabulary ${d.vocab.textVocabSize} differs from stage "${plan.stages[0]!.stage.name}" (${textVocab})`);
      if (sp.stage.kind === "vision-language" && d.vocab.visionVocabSize === 0)
        throw new PlanError(`${d.dir}: stage "${sp.stage.name}" is vision-language but its shards have no vision table`);
    });
    return datasets;
  } catch (err) {
    await Promise.all(datasets.map((d) => d.close()));
    throw err;
  }
}

/** A stage interrupted part-way: its optimizer and loader continue from here. */
export interface MidStage {
  state: TrainState;
  optimizer: TensorMap;
  from: string;
}

/** Where a run starts: weights, the first stage to run, and the counters carried across stages. */
export interface StartPoint {
  params: Params;
  dims: ModelDims;
  startIndex: number;
  midStage: MidStage | null;
  metrics: MetricsLog;
  /** Names where the first stage's weights come from (metrics' `initFrom`). */
  initFrom: string;
  consumed: Record<string, number>;
  globalStep: number;
}

export interface StartOptions {
  plan: TrainPlan;
  files: RunFiles;
  resume: boolean;
  init?: string;
  log: (line: string) => void;
}

interface LatestCheckpoint {
  dir: string;
  ckpt: LoadedCheckpoint;
  state: TrainState;
}

async function readLatest(o: StartOptions): Promise<LatestCheckpoint> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(o.files.latest, "utf8"));
  } catch (err) {
    throw new PlanError(`${o.files.latest}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const pointer = LatestPointer.safeParse(json);
  if (!pointer.success) throw new PlanError(formatZodError(pointer.error, o.files.latest));
  const dir = join(o.files.dir, pointer.data.checkpoint);
  const ckpt = await loadCheckpoint(dir).catch((err: Error) => {
    throw new PlanError(`${o.files.latest} names ${dir}, which cannot be loaded: ${err.message}`);
  });
  const parsed = TrainState.safeParse(ckpt.state);
  if (!parsed.success) throw new PlanError(formatZodError(parsed.error, join(dir, STATE_FILE)));
  return { dir, ckpt, state: parsed.data };
}

/**
 * A run folder whose last checkpoint is the final one of a stage that comes before every stage of
 * this plan (e.g. `--stages 32k` earlier, `--stages 128k` now) is continued: the plan's first stage
 * starts from those weights, and the metrics and counters carry on.
 */
function continues(plan: TrainPlan, state: TrainState): boolean {
  const done = plan.recipeStages.indexOf(state.stage);
  return state.stageDone && done >= 0 && done < plan.stages[0]!.recipeIndex;
}

function fromCheckpoint(o: StartOptions, latest: LatestCheckpoint, metrics: MetricsLog): Omit<StartPoint, "startIndex" | "midStage"> {
  return {
    params: latest.ckpt.params,
    dims: latest.ckpt.dims,
    metrics,
    initFrom: relative(o.files.dir, latest.dir),
    consumed: { ...latest.state.consumedTokens },
    globalStep: latest.state.globalStep,
  };
}

async function continuePoint(o: StartOptions, latest: LatestCheckpoint): Promise<StartPoint> {
  o.log(`continuing the run in ${o.files.dir} after stage "${latest.state.stage}" (${latest.dir})\n`);
  const metrics = await MetricsLog.open(o.files.metrics, latest.state.metricsLines);
  return { ...fromCheckpoint(o, latest, metrics), startIndex: 0, midStage: null };
}

async function resumePoint(o: StartOptions, latest: LatestCheckpoint): Promise<StartPoint> {
  const { state, dir, ckpt } = latest;
  const names = o.plan.stages.map((s) => s.stage.name);
  if (state.stages.join(",") !== names.join(",")) {
    throw new PlanError(`--resume: the run in ${o.files.dir} trains stages ${state.stages.join(",")}, this command asks for ${names.join(",")}`);
  }
  if (state.planSha256 !== planSha256(o.plan)) {
    throw new PlanError(
      `--resume: the recipe's model, stages or training settings, or --workers/--layout, differ from those the run in ${o.files.dir} was started with; an exact resume needs the same (start a new run with another --out)`,
    );
  }
  if (!state.stageDone && !ckpt.optimizer) throw new PlanError(`--resume: ${dir} is a mid-stage checkpoint without optimizer.safetensors`);
  o.log(`resuming from ${dir} (stage "${state.stage}", step ${state.stageStep}${state.stageDone ? ", done" : ""})\n`);
  const metrics = await MetricsLog.open(o.files.metrics, state.metricsLines);
  return {
    ...fromCheckpoint(o, latest, metrics),
    startIndex: state.stageDone ? state.stageIndex + 1 : state.stageIndex,
    midStage: state.stageDone ? null : { state, optimizer: ckpt.optimizer!, from: dir },
  };
}

/** Stage 1's weights: a Hugging Face checkpoint (--init), checked against the recipe and shards, or a seeded init. */
async function freshPoint(o: StartOptions, firstVocab: VocabLayout): Promise<StartPoint> {
  const fresh = { startIndex: 0, midStage: null, consumed: {}, globalStep: 0 };
  if (o.init !== undefined) {
    const init = o.init;
    const hf = await loadHfCheckpoint(init).catch((err: Error) => {
      throw new PlanError(`--init ${init}: ${err.message}`);
    });
    const m = o.plan.model;
    if (m && (m.dim !== hf.dims.dim || m.layers !== hf.dims.layers || m.heads !== hf.dims.heads || m.ffnDim !== hf.dims.ffnDim)) {
      throw new PlanError(
        `--init ${init}: model is dim ${hf.dims.dim}, layers ${hf.dims.layers}, heads ${hf.dims.heads}, ffnDim ${hf.dims.ffnDim}; the recipe's model section says ${m.dim}, ${m.layers}, ${m.heads}, ${m.ffnDim}`,
      );
    }
    if (hf.dims.vocabSize !== firstVocab.textVocabSize) {
      throw new PlanError(`--init ${init}: vocab_size ${hf.dims.vocabSize}, the shards' text vocabulary is ${firstVocab.textVocabSize}`);
    }
    return { ...fresh, params: hf.params, dims: hf.dims, metrics: await MetricsLog.open(o.files.metrics, 0), initFrom: init };
  }
  const dims = o.plan.model!;
  const first = o.plan.stages[0]!;
  if (first.recipeIndex > 0) {
    o.log(
      `warning: stage "${first.stage.name}" follows "${o.plan.recipeStages[first.recipeIndex - 1]}" in the recipe but starts from a fresh init (no --init, and ${o.files.dir} holds no earlier stage)\n`,
    );
  }
  const seed = first.training.seed;
  // Stage 1 always starts as a text model; a vision table is added when a vision-language stage needs it.
  const params = initParams(stageConfig(dims, firstVocab, { ...first.stage, kind: "text" }), seed);
  return { ...fresh, params, dims, metrics: await MetricsLog.open(o.files.metrics, 0), initFrom: `initParams(seed ${seed})` };
}

/**
 * The run's starting point:
 * - the run folder's last checkpoint is a finished earlier stage: continue the run with this plan;
 * - --resume and a checkpoint: exactly where it left off (metrics.jsonl cut back to what it had seen);
 * - no checkpoint: stage 1 from --init or a seeded init;
 * - otherwise (a checkpoint, no --resume): refused, so nothing is overwritten by accident.
 */
export async function startPoint(o: StartOptions, firstVocab: VocabLayout): Promise<StartPoint> {
  if (!existsSync(o.files.latest)) {
    if (o.resume) o.log(`--resume: ${o.files.dir} has no checkpoint yet; starting from the beginning\n`);
    return freshPoint(o, firstVocab);
  }
  const latest = await readLatest(o);
  if (o.init === undefined && continues(o.plan, latest.state)) return continuePoint(o, latest);
  if (!o.resume) {
    throw new PlanError(
      `--out ${o.files.dir}: this run folder already holds a checkpoint (${relative(o.files.dir, latest.dir)}); pass --resume to continue it or choose another --out`,
    );
  }
  return resumePoint(o, latest);
}
