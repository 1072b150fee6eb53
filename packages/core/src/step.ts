import type { Recipe } from "@lwm/schemas";
import type { JsonValue } from "./hash.js";
import type { Logger } from "./logger.js";
import type { RejectRecord } from "./rejects.js";
import type { UnitRecord } from "./units.js";
import type { WorkerPool } from "./worker-pool.js";

/** What every step gets to plan and run its work. */
export interface StepContext {
  recipe: Recipe;
  /** Folder of the recipe file: relative input paths resolve against it. */
  recipeDir: string;
  /** The run's output root (`--out`). */
  outDir: string;
  /** This step's folder: <outDir>/work/<step name>. */
  stepDir: string;
  logger: Logger;
  /** CPU threads this run may use in all (see README "Thread budget"). */
  threads: number;
  /** Worker threads for CPU-bound unit work (size = the step's share of `threads`; 0 = inline). */
  pool: WorkerPool;
}

/** What a step's preflight sees: the recipe and where it lives; no step has run yet. */
export interface PreflightContext {
  recipe: Recipe;
  recipeDir: string;
  outDir: string;
}

/** What a unit returns; stored in its completion record. */
export interface UnitOutcome {
  /** Step-specific summary (JSON), handed back to finalize. */
  result: JsonValue;
  /** Quarantined records and files (the run goes on). */
  rejects?: RejectRecord[];
  /** Counters summed into the report (e.g. inputBytes, documents, tokens). */
  metrics?: Record<string, number>;
}

export interface WorkUnit {
  /** Content address from `unitKey(...)`. */
  key: string;
  /** For people: logs, progress, the executions log. */
  label: string;
  /**
   * Units of one group always land in the same task slice, so a unit may depend on units of its
   * own group only. Default: its key.
   */
  group?: string;
  /** Keys of units (of the same group, earlier in the plan) whose folders this unit reads. */
  dependsOn?: readonly string[];
  /** Weight for progress and ETA (e.g. input bytes); default 1. */
  size?: number;
  /**
   * Does the work, writing output files into `dir` (a fresh temp folder that becomes
   * units/<key>/ when this resolves). Must be deterministic: same key, same bytes.
   */
  execute(dir: string, unitDirs: ReadonlyMap<string, string>): Promise<UnitOutcome>;
}

/** A finished unit as finalize sees it. */
export interface CompletedUnit {
  unit: WorkUnit;
  /** units/<key>/ */
  dir: string;
  record: UnitRecord;
}

export interface FinalizeOutcome {
  /** Files the step published (relative to stepDir), for the report. */
  outputs: { path: string; bytes: number; sha256: string }[];
  /** Step-specific report section (e.g. documents and tokens per length band). */
  details: JsonValue;
  /** Rejections only finalize can decide (e.g. duplicates across slices). */
  rejects?: RejectRecord[];
}

export interface StepPlan {
  /** Every unit of the step in a deterministic order (dependencies first). */
  units: WorkUnit[];
  /** The step's input files, for the report. */
  inputs: { path: string; bytes: number; sha256: string }[];
  /**
   * Inputs refused while planning (an unreadable or special file, a broken link…): quarantined like
   * a unit's rejects, first in rejects.jsonl, and the run goes on.
   */
  rejects?: RejectRecord[];
  /**
   * Problems of the finished units taken together (e.g. a source of which nothing was accepted),
   * each a sentence naming the recipe field. Any problem fails the step before finalize: nothing
   * is published, rejects.jsonl is still written so the user sees why.
   */
  check?(units: readonly CompletedUnit[]): string[];
  /**
   * Runs once every unit is done, in a run without --task-index. Must be idempotent and depend
   * only on the units' folders, so n slices + finalize give the same bytes as one run. Publish
   * with atomic writes (see publishDir).
   */
  finalize(units: readonly CompletedUnit[]): Promise<FinalizeOutcome>;
}

/**
 * A pipeline step. Register it in the CLI's step registry (packages/cli/src/commands/run.ts);
 * `runStep` does the rest (slicing, skipping done units, concurrency, rejects, report).
 */
export interface Step {
  /** Folder name under <out>/work/ and the name used by `--steps`. */
  readonly name: string;
  /** Semantic version of the step's outputs; part of every unit key. */
  readonly version: string;
  readonly description: string;
  /**
   * Share of the thread budget to run as pool workers (the rest stays free for native pools).
   * Default: all of it.
   */
  workerThreads?(threads: number): number;
  /**
   * Environment for native thread pools, sized from the budget (e.g. HF tokenizers'
   * TOKENIZERS_PARALLELISM / RAYON_NUM_THREADS). The CLI sets these before the step loads native
   * code, leaving variables the user set alone; they are process-wide.
   */
  nativeEnv?(threads: number): Record<string, string>;
  /**
   * Checks of the recipe against this machine that zod cannot make and that need no earlier step's
   * outputs (an environment variable the recipe names, a model folder it points at). `lwm run` calls
   * it for every requested step before the first one starts, so a late step's config mistake costs
   * no early step's work. Throws `ConfigError`.
   */
  preflight?(ctx: PreflightContext): Promise<void>;
  /**
   * Builds the plan: cheap work only (list and hash inputs). Throws `ConfigError` for a config
   * problem that zod could not see (e.g. a missing input file), before any unit runs.
   */
  plan(ctx: StepContext): Promise<StepPlan>;
}

/** A recipe/config problem found before any work; `field` is its path, e.g. "sources[0].paths[1]". */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "ConfigError";
  }
}
