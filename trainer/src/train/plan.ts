import type { ModelConfig, Recipe, Stage, TrainingConfig } from "@lwm/schemas";
import { PIECES_PER_WORKER, type Layout } from "../ring/layout.js";

/** A recipe or flag problem found before any work: the CLI exits 2 with this message. */
export class PlanError extends Error {}

export interface StagePlan {
  /** Index of the stage in recipe.stages (for error paths). */
  recipeIndex: number;
  stage: Stage;
  training: TrainingConfig;
  /** Optimizer steps: `steps`, or ceil(tokens / tokensPerBatch). */
  steps: number;
  /** Rows per global batch: tokensPerBatch / seqLen. */
  batchRows: number;
}

export interface TrainPlan {
  recipeName: string;
  /** Every stage name of the recipe, in order (the plan may train a later subset). */
  recipeStages: string[];
  model: ModelConfig | undefined;
  stages: StagePlan[];
  workers: number;
  layout: Layout;
}

export interface PlanOptions {
  /** Stage names to train, in recipe order; default: all. */
  stages?: readonly string[];
  workers: number;
  layout: Layout;
  /** True when --init gives the model, so recipe.model may be absent. */
  hasInit: boolean;
}

/**
 * Checks everything about a training run that can be checked without reading data, and turns the
 * recipe into per-stage step counts and batch shapes. Every problem names its field.
 */
export function planTraining(recipe: Recipe, o: PlanOptions): TrainPlan {
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new PlanError(`--workers: must be a positive integer, got ${o.workers}`);
  const byName = new Map(recipe.stages.map((s, i) => [s.name, i]));
  let indices: number[];
  if (o.stages === undefined) indices = recipe.stages.map((_, i) => i);
  else {
    if (o.stages.length === 0) throw new PlanError("--stages: give at least one stage name");
    indices = o.stages.map((name) => {
      const i = byName.get(name);
      if (i === undefined) throw new PlanError(`--stages: unknown stage "${name}" (the recipe has ${recipe.stages.map((s) => s.name).join(", ")})`);
      return i;
    });
    if (new Set(indices).size !== indices.length) throw new PlanError(`--stages: a stage is named twice (${o.stages.join(",")})`);
    if (indices.some((v, k) => k > 0 && v < indices[k - 1]!)) {
      throw new PlanError(
        `--stages: give stages in the recipe's order (${recipe.stages.map((s) => s.name).join(", ")}); each starts from the previous one's weights`,
      );
    }
  }
  if (!recipe.model && !o.hasInit) throw new PlanError("model: the recipe has no model section (dim, layers, heads, ffnDim); add one or pass --init HF_DIR");
  if (recipe.model) {
    const { dim, heads } = recipe.model;
    if (dim % heads !== 0) throw new PlanError(`model.heads: dim ${dim} is not a multiple of heads ${heads}`);
    if ((dim / heads) % 2 !== 0) throw new PlanError(`model.heads: head dim ${dim / heads} (dim/heads) must be even for RoPE`);
  }
  const chunks = PIECES_PER_WORKER[o.layout] * o.workers;
  const stages = indices.map((i): StagePlan => {
    const stage = recipe.stages[i]!;
    const where = `stages[${i}]`;
    const t = stage.training;
    if (!t) throw new PlanError(`${where}.training: stage "${stage.name}" has no training section (tokensPerBatch, lr, steps or tokens)`);
    if (t.tokensPerBatch % stage.seqLen !== 0) {
      throw new PlanError(`${where}.training.tokensPerBatch: ${t.tokensPerBatch} is not a multiple of seqLen ${stage.seqLen} (a batch is whole rows)`);
    }
    if (stage.seqLen % chunks !== 0) {
      throw new PlanError(
        `--workers ${o.workers}: ${where}.seqLen ${stage.seqLen} (stage "${stage.name}") is not divisible by ${PIECES_PER_WORKER[o.layout]}·P = ${chunks}; ` +
          `the ${o.layout} layout splits each row into ${chunks} equal pieces`,
      );
    }
    if (t.lr.decay === "cosine" && t.steps !== undefined && t.lr.warmupSteps >= t.steps) {
      throw new PlanError(`${where}.training.lr.warmupSteps: ${t.lr.warmupSteps} warmup steps leave nothing of the ${t.steps}-step cosine decay`);
    }
    const steps = t.steps ?? Math.ceil(t.tokens! / t.tokensPerBatch);
    return { recipeIndex: i, stage, training: t, steps, batchRows: t.tokensPerBatch / stage.seqLen };
  });
  return { recipeName: recipe.name, recipeStages: recipe.stages.map((s) => s.name), model: recipe.model, stages, workers: o.workers, layout: o.layout };
}
