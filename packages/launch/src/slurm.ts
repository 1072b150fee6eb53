/**
 * The Slurm executor: per step an sbatch array of slices (`--array=0-(N-1)%M`, the slice index
 * from SLURM_ARRAY_TASK_ID), a finalize job `--dependency=afterok:<array>`, and the next step's
 * array after that finalize. Every job has `--kill-on-invalid-dep=yes`, so a failed or cancelled
 * slice removes the finalize and everything after it instead of leaving them pending forever;
 * a relaunch then cancels what is left of the old chain, keeps slices still running, and submits
 * only the missing slices and a new chain.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeJsonAtomic, type JsonValue } from "@lwm/core";
import type { SlurmLaunchConfig } from "@lwm/schemas";
import type { LwmInvocation } from "./local.js";
import { launchDir, runArgs, type StepLaunch } from "./plan.js";
import { shellWord, runProgram } from "./shell.js";
import { missingSlices, stepStatus, type QueueView } from "./status.js";

/** Job ids of a step's current chain, `<out>/work/<step>/launch/slurm-jobs.json`. */
export const SlurmJobs = z.object({
  /** Arrays whose tasks are (or were) this launch's slices: array job id and the slice indices it ran. */
  arrays: z.array(z.object({ job: z.string(), slices: z.array(z.number().int().nonnegative()) })),
  finalize: z.string().nullable(),
});
export type SlurmJobs = z.infer<typeof SlurmJobs>;

export interface SlurmScripts {
  slices: string;
  finalize: string;
}

const SIGTERM_NOTE =
  "# scancel, preemption and the time limit send SIGTERM: lwm run then starts no new unit, lets the\n" +
  "# units in flight finish, writes the slice's failure marker and exits; a requeue reruns the slice,\n" +
  "# which skips every unit already done.";

function header(plan: StepLaunch, settings: SlurmLaunchConfig, name: string, log: string): string[] {
  const lines: string[] = [
    "#!/bin/bash",
    `#SBATCH --job-name=${shellWord(name)}`,
    `#SBATCH --output=${shellWord(log)}`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --kill-on-invalid-dep=yes",
    "#SBATCH --ntasks=1",
    `#SBATCH --cpus-per-task=${plan.threads}`,
  ];
  return [...lines, ...settingLines(settings)];
}

/** The recipe's / flags' sbatch settings as #SBATCH lines. */
function settingLines(settings: SlurmLaunchConfig): string[] {
  const lines: string[] = [];
  if (settings.partition) lines.push(`#SBATCH --partition=${shellWord(settings.partition)}`);
  if (settings.account) lines.push(`#SBATCH --account=${shellWord(settings.account)}`);
  if (settings.time) lines.push(`#SBATCH --time=${shellWord(settings.time)}`);
  if (settings.mem) lines.push(`#SBATCH --mem=${shellWord(settings.mem)}`);
  return lines;
}

function execLine(lwm: LwmInvocation, args: string[]): string {
  return `exec ${[lwm.command, ...lwm.prefix, ...args].map((a) => (a.startsWith('"$') ? a : shellWord(a))).join(" ")}`;
}

/** The two sbatch scripts of a step. The array range in the slice script is the first launch's; a relaunch overrides it on the command line. */
export function slurmScripts(plan: StepLaunch, lwm: LwmInvocation, settings: SlurmLaunchConfig): SlurmScripts {
  const logs = join(launchDir(plan.out, plan.step), "logs");
  const slices = [
    ...header(plan, settings, `lwm-${plan.step}`, join(logs, "slice-%a.log")),
    `#SBATCH --array=0-${plan.tasks - 1}%${plan.parallel}`,
    SIGTERM_NOTE,
    "set -eu",
    execLine(lwm, runArgs(plan, '"$SLURM_ARRAY_TASK_ID"')),
    "",
  ].join("\n");
  const finalize = [
    ...header(plan, settings, `lwm-${plan.step}-finalize`, join(logs, "finalize.log")),
    "# Submitted with --dependency=afterok:<the slice array>: runs once every slice is done, executes",
    "# nothing new and publishes the step's outputs, byte-identical to one unsliced run.",
    "set -eu",
    execLine(lwm, runArgs(plan, null)),
    "",
  ].join("\n");
  return { slices, finalize };
}

export interface TrainScriptOptions {
  recipe: string;
  out: string;
  /** The run folder (`lwm train --out`). */
  runDir: string;
  /** Ring workers: the cores asked for on the node. */
  workers: number;
  settings: SlurmLaunchConfig;
}

/**
 * `lwm train` on one node, its cores as ring workers. On SIGTERM (preemption, time limit, scancel)
 * lwm train finishes the step in flight and checkpoints; `--requeue` brings the job back and the
 * script resumes from the run folder's latest checkpoint, so a preemption loses at most one step.
 */
export function trainScript(lwm: LwmInvocation, o: TrainScriptOptions): string {
  const lines = [
    "#!/bin/bash",
    "#SBATCH --job-name=lwm-train",
    `#SBATCH --output=${shellWord(join(o.runDir, "train-slurm.log"))}`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --nodes=1",
    "#SBATCH --ntasks=1",
    `#SBATCH --cpus-per-task=${o.workers}`,
    // SIGTERM to the batch shell (lwm train itself, through exec) 5 minutes before the time limit.
    "#SBATCH --signal=B:TERM@300",
  ];
  lines.push(...settingLines(o.settings));
  const args = ["train", o.recipe, "--data", o.out, "--out", o.runDir, "--workers", String(o.workers)];
  lines.push(
    "# SIGTERM: lwm train finishes the step in flight, writes a checkpoint and exits 1; a requeued run",
    "# (SLURM_RESTART_COUNT > 0) or a resubmitted one continues from latest.json with --resume.",
    "set -eu",
    `resume=""`,
    `if [ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ] || [ -f ${shellWord(join(o.runDir, "latest.json"))} ]; then resume=--resume; fi`,
    `${execLine(lwm, args)} $resume`,
    "",
  );
  return lines.join("\n");
}

export function slurmJobsPath(outDir: string, step: string): string {
  return join(launchDir(outDir, step), "slurm-jobs.json");
}

async function readJobs(plan: StepLaunch): Promise<SlurmJobs | null> {
  try {
    return SlurmJobs.parse(JSON.parse(await readFile(slurmJobsPath(plan.out, plan.step), "utf8")));
  } catch {
    return null;
  }
}

/** Job (and array task, `<job>_<i>`) ids → state, for this user's jobs Slurm still lists. */
export async function squeue(): Promise<Map<string, string>> {
  const text = await runProgram("squeue", ["-h", "-r", "--me", "-o", "%i|%T"]);
  const states = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [id, state] = line.trim().split("|");
    if (id && state) states.set(id, state);
  }
  return states;
}

function queueView(jobs: SlurmJobs | null, states: Map<string, string>): QueueView {
  return {
    slice(index) {
      // The latest array that ran this slice decides.
      for (const array of [...(jobs?.arrays ?? [])].reverse()) {
        if (array.slices.includes(index)) return states.get(`${array.job}_${index}`);
      }
      return undefined;
    },
    finalize: () => (jobs?.finalize ? states.get(jobs.finalize) : undefined),
  };
}

/** What squeue says about a step's jobs; undefined when Slurm cannot be asked (no squeue here). */
export async function slurmQueue(plan: StepLaunch): Promise<QueueView | undefined> {
  let states: Map<string, string>;
  try {
    states = await squeue();
  } catch {
    return undefined;
  }
  return queueView(await readJobs(plan), states);
}

/** Every job id of the steps' current chains (to wait for). */
export async function chainJobIds(plans: readonly StepLaunch[]): Promise<string[]> {
  const ids: string[] = [];
  for (const plan of plans) {
    const jobs = await readJobs(plan);
    if (!jobs) continue;
    for (const a of jobs.arrays) ids.push(...a.slices.map((i) => `${a.job}_${i}`));
    if (jobs.finalize) ids.push(jobs.finalize);
  }
  return ids;
}

export interface SubmittedStep {
  step: string;
  /** Slices submitted in this launch. */
  slices: number[];
  /** Slices of an earlier launch still running: the finalize waits for them too. */
  keptRunning: number[];
  arrayJob: string | null;
  finalizeJob: string;
}

/**
 * Submits the steps in order, each step's array after the previous step's finalize. Writes the
 * scripts and `slurm-jobs.json` beside each step's launch.json.
 */
export async function submitSlurm(
  plans: readonly StepLaunch[],
  lwm: LwmInvocation,
  settings: SlurmLaunchConfig,
  log: (line: string) => void,
): Promise<SubmittedStep[]> {
  const submitted: SubmittedStep[] = [];
  let after: string | null = null;
  for (const plan of plans) {
    const dir = join(launchDir(plan.out, plan.step), "slurm");
    await mkdir(join(launchDir(plan.out, plan.step), "logs"), { recursive: true });
    await mkdir(dir, { recursive: true });
    const scripts = slurmScripts(plan, lwm, settings);
    const slicesScript = join(dir, "slices.sbatch");
    const finalizeScript = join(dir, "finalize.sbatch");
    await writeFile(slicesScript, scripts.slices, { mode: 0o755 });
    await writeFile(finalizeScript, scripts.finalize, { mode: 0o755 });

    // What is left of an earlier chain: pending tasks and the finalize are stale (cancelled and
    // submitted again), running slices are kept and waited for.
    const previous = await readJobs(plan);
    const states = previous ? await squeue() : new Map<string, string>();
    const stale: string[] = [];
    const kept: { job: string; slices: number[] }[] = [];
    for (const array of previous?.arrays ?? []) {
      const running = array.slices.filter((i) => states.get(`${array.job}_${i}`) === "RUNNING");
      if (running.length > 0) kept.push({ job: array.job, slices: running });
      stale.push(...array.slices.filter((i) => states.has(`${array.job}_${i}`) && !running.includes(i)).map((i) => `${array.job}_${i}`));
    }
    if (previous?.finalize && states.has(previous.finalize)) stale.push(previous.finalize);
    if (stale.length > 0) {
      await runProgram("scancel", stale);
      log(`${plan.step}: cancelled ${stale.length} stale job(s) of the last launch: ${stale.join(" ")}`);
    }
    const keptRunning = kept.flatMap((k) => k.slices);
    const status = await stepStatus(plan, { slice: (i) => (keptRunning.includes(i) ? "RUNNING" : undefined), finalize: () => undefined });
    const missing = missingSlices(status);

    const dependency = (ids: string[]) => (ids.length > 0 ? [`--dependency=afterok:${ids.join(":")}`] : []);
    let arrayJob: string | null = null;
    if (missing.length > 0) {
      arrayJob = await sbatch([`--array=${missing.join(",")}%${plan.parallel}`, ...dependency(after ? [after] : []), slicesScript]);
      log(
        `${plan.step}: submitted slices ${missing.join(",")} of ${plan.tasks} as array job ${arrayJob} (at most ${plan.parallel} at a time)${after ? `, after job ${after}` : ""}`,
      );
    } else {
      log(`${plan.step}: every slice is done${keptRunning.length > 0 ? " or running" : ""}; nothing to submit but the finalize`);
    }
    const waitFor = [...(arrayJob ? [arrayJob] : []), ...kept.flatMap((k) => k.slices.map((i) => `${k.job}_${i}`)), ...(after && !arrayJob ? [after] : [])];
    const finalizeJob = await sbatch([...dependency(waitFor), finalizeScript]);
    log(`${plan.step}: finalize job ${finalizeJob}${waitFor.length > 0 ? ` after ${waitFor.join(", ")}` : ""}`);
    const jobs: SlurmJobs = { arrays: [...kept, ...(arrayJob ? [{ job: arrayJob, slices: missing }] : [])], finalize: finalizeJob };
    await writeJsonAtomic(slurmJobsPath(plan.out, plan.step), jobs as unknown as JsonValue);
    submitted.push({ step: plan.step, slices: missing, keptRunning, arrayJob, finalizeJob });
    after = finalizeJob;
  }
  return submitted;
}

async function sbatch(args: string[]): Promise<string> {
  const out = await runProgram("sbatch", ["--parsable", ...args]);
  const id = out.trim().split(";")[0] ?? "";
  if (!/^\d+$/.test(id)) throw new Error(`sbatch ${args.join(" ")}: unexpected answer "${out.trim()}"`);
  return id;
}

/** What --dry-run prints: every script, then the sbatch lines that would chain them. */
export function slurmDryRun(plans: readonly StepLaunch[], lwm: LwmInvocation, settings: SlurmLaunchConfig): string {
  const out: string[] = [];
  const submit: string[] = [];
  let after: string | null = null;
  for (const plan of plans) {
    const dir = join(launchDir(plan.out, plan.step), "slurm");
    const scripts = slurmScripts(plan, lwm, settings);
    out.push(`# ---- ${join(dir, "slices.sbatch")}`, scripts.slices, `# ---- ${join(dir, "finalize.sbatch")}`, scripts.finalize);
    const v = plan.step.replace(/[^A-Za-z0-9_]/g, "_");
    const dep = after ? ` --dependency=afterok:$${after}` : "";
    submit.push(`${v}_slices=$(sbatch --parsable${dep} ${shellWord(join(dir, "slices.sbatch"))})`);
    submit.push(`${v}_finalize=$(sbatch --parsable --dependency=afterok:$${v}_slices ${shellWord(join(dir, "finalize.sbatch"))})`);
    after = `${v}_finalize`;
  }
  out.push("# ---- submitted in this order (each job has --kill-on-invalid-dep=yes)", ...submit, "");
  return out.join("\n");
}
