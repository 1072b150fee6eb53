/**
 * `lwm launch`: writes each step's launch plan and hands the steps to an executor. Executors are
 * separate from steps: every executor runs the same `lwm run --task-index i --task-count n` slices
 * and one unsliced finalize run per step, and learns what finished from the slices' markers.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SlurmLaunchConfig } from "@lwm/schemas";
import { k8sManifests, k8sYaml, checkK8sPaths, type K8sSettings } from "./k8s.js";
import { runLocalStep, type LocalStepResult, type LwmInvocation } from "./local.js";
import { pruneMarkers } from "./markers.js";
import { markerScope, readStepLaunch, runArgs, writeStepLaunch, type Executor, type StepLaunch } from "./plan.js";
import { chainJobIds, slurmDryRun, slurmQueue, squeue, submitSlurm, trainScript, type SubmittedStep, type TrainScriptOptions } from "./slurm.js";
import { runProgram } from "./shell.js";
import { formatStatus, stepStatus, type StepStatus } from "./status.js";

export interface LaunchRequest {
  /** Absolute path of the recipe, and the sha256 of its bytes. */
  recipe: string;
  recipeSha256: string;
  /** Absolute output root. */
  out: string;
  /** The steps to launch, in pipeline order, with their versions. */
  steps: readonly { name: string; version: string }[];
  executor: Executor;
  tasks: number;
  parallel: number;
  /** `--threads` of each slice and finalize run. */
  threads: number;
  lwm: LwmInvocation;
  slurm: SlurmLaunchConfig;
  k8s: K8sSettings;
  log: (line: string) => void;
}

export function stepLaunches(r: LaunchRequest): StepLaunch[] {
  return r.steps.map((s) => ({
    format: 1,
    step: s.name,
    stepVersion: s.version,
    recipe: r.recipe,
    recipeSha256: r.recipeSha256,
    out: r.out,
    tasks: r.tasks,
    parallel: r.parallel,
    threads: r.threads,
    executor: r.executor,
  }));
}

/** Writes every step's launch.json and clears markers this launch must not trust. */
async function preparePlans(r: LaunchRequest): Promise<StepLaunch[]> {
  const plans = stepLaunches(r);
  for (const plan of plans) {
    await writeStepLaunch(plan);
    await pruneMarkers(markerScope(plan), plan.tasks);
  }
  return plans;
}

/** Runs the steps on this machine; stops at the first step with a slice that failed twice. */
export async function launchLocal(r: LaunchRequest): Promise<LocalStepResult[]> {
  const results: LocalStepResult[] = [];
  for (const plan of await preparePlans(r)) {
    const result = await runLocalStep(plan, r.lwm, r.log);
    results.push(result);
    if (!result.finalized) break;
  }
  return results;
}

export interface SlurmLaunch {
  steps: SubmittedStep[];
  /** The sbatch script for `lwm train` (written, not submitted). */
  trainScript: string | null;
}

/** Submits the steps' chain to Slurm and writes the trainer's sbatch script (when `train` is given). */
export async function launchSlurm(r: LaunchRequest, train: Omit<TrainScriptOptions, "recipe" | "out" | "settings"> | null): Promise<SlurmLaunch> {
  // Before anything is written: is there a Slurm to submit to?
  try {
    await runProgram("sbatch", ["--version"]);
  } catch (err) {
    throw new Error(`cannot run sbatch (${err instanceof Error ? err.message : String(err)}): launch from a machine of the Slurm cluster, or use --dry-run`);
  }
  const steps = await submitSlurm(await preparePlans(r), r.lwm, r.slurm, r.log);
  let script: string | null = null;
  if (train) {
    await mkdir(train.runDir, { recursive: true });
    script = join(train.runDir, "train.sbatch");
    await writeFile(script, trainScript(r.lwm, { ...train, recipe: r.recipe, out: r.out, settings: r.slurm }), { mode: 0o755 });
  }
  return { steps, trainScript: script };
}

/** Writes the Jobs of every step to `<out>/work/k8s-jobs.yaml` and returns its path. */
export async function launchK8s(r: LaunchRequest): Promise<string> {
  const plans = stepLaunches(r);
  for (const plan of plans) checkK8sPaths(plan, r.k8s);
  await preparePlans(r);
  const path = join(r.out, "work", "k8s-jobs.yaml");
  await writeFile(path, k8sYaml(k8sManifests(plans, r.k8s)));
  return path;
}

/** What `--dry-run` prints: the scripts or manifests, with nothing written and no earlier outputs needed. */
export function dryRun(r: LaunchRequest, train: Omit<TrainScriptOptions, "recipe" | "out" | "settings"> | null): string {
  const plans = stepLaunches(r);
  switch (r.executor) {
    case "slurm": {
      const text = slurmDryRun(plans, r.lwm, r.slurm);
      if (!train) return text;
      return `${text}# ---- ${join(train.runDir, "train.sbatch")} (written, not submitted)\n${trainScript(r.lwm, { ...train, recipe: r.recipe, out: r.out, settings: r.slurm })}`;
    }
    case "k8s":
      for (const plan of plans) checkK8sPaths(plan, r.k8s);
      return k8sYaml(k8sManifests(plans, r.k8s));
    case "local":
      return plans
        .flatMap((p) => [
          `# ${p.step}: ${p.tasks} slices, ${p.parallel} at a time, each rerun once if it dies; then finalize`,
          ...Array.from({ length: p.tasks }, (_, i) => [r.lwm.command, ...r.lwm.prefix, ...runArgs(p, String(i))].join(" ")),
          [r.lwm.command, ...r.lwm.prefix, ...runArgs(p, null)].join(" "),
        ])
        .join("\n")
        .concat("\n");
  }
}

/** Status of the launched steps among `steps` (those never launched are left out). */
export async function launchStatus(out: string, steps: readonly string[]): Promise<StepStatus[]> {
  const statuses: StepStatus[] = [];
  for (const step of steps) {
    const plan = await readStepLaunch(out, step);
    if (!plan) continue;
    statuses.push(await stepStatus(plan, plan.executor === "slurm" ? await slurmQueue(plan) : undefined));
  }
  return statuses;
}

/** Polls squeue until none of the steps' jobs is queued or running, logging each change of status. */
export async function waitSlurm(out: string, steps: readonly string[], log: (line: string) => void, intervalMs = 2000): Promise<StepStatus[]> {
  const plans = (await Promise.all(steps.map((s) => readStepLaunch(out, s)))).filter((p): p is StepLaunch => p !== null);
  const ids = await chainJobIds(plans);
  let last = "";
  for (;;) {
    const states = await squeue();
    const statuses = await launchStatus(out, steps);
    const text = statuses.map(formatStatus).join("\n");
    if (text !== last) for (const line of statuses.map(formatStatus)) log(line);
    last = text;
    if (!ids.some((id) => states.has(id))) return statuses;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
