/**
 * The launch plan of one step, `<out>/work/<step>/launch.json`: how many slices, for which recipe
 * (sha256) and step version. Units are not listed: each slice plans its own at run time,
 * deterministically, because a step plans against its predecessor's published outputs, which do
 * not exist before the predecessor is finalized.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeJsonAtomic, type JsonValue, type TaskSlice } from "@lwm/core";
import type { MarkerScope } from "./markers.js";

export const EXECUTORS = ["local", "slurm", "k8s"] as const;
export type Executor = (typeof EXECUTORS)[number];

export const StepLaunch = z.object({
  format: z.literal(1),
  step: z.string(),
  stepVersion: z.string(),
  /** Absolute path of the recipe (on the shared storage). */
  recipe: z.string(),
  recipeSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Absolute output root (on the shared storage). */
  out: z.string(),
  /** Slices (N). */
  tasks: z.number().int().positive(),
  /** Slices at most running at once (M). */
  parallel: z.number().int().positive(),
  /** `--threads` of each slice and of the finalize run. */
  threads: z.number().int().positive(),
  executor: z.enum(EXECUTORS),
});
export type StepLaunch = z.infer<typeof StepLaunch>;

export function stepLaunchPath(outDir: string, step: string): string {
  return join(outDir, "work", step, "launch.json");
}

/** Folder of a step's launcher files: scripts, logs, job ids. */
export function launchDir(outDir: string, step: string): string {
  return join(outDir, "work", step, "launch");
}

export async function writeStepLaunch(plan: StepLaunch): Promise<void> {
  await writeJsonAtomic(stepLaunchPath(plan.out, plan.step), StepLaunch.parse(plan) as unknown as JsonValue);
}

/** The step's last launch plan, or null when it was never launched. A damaged file is an error naming it. */
export async function readStepLaunch(outDir: string, step: string): Promise<StepLaunch | null> {
  const path = stepLaunchPath(outDir, step);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const parsed = StepLaunch.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path}: not a launch plan: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export function markerScope(plan: StepLaunch): MarkerScope {
  return { outDir: plan.out, step: plan.step, stepVersion: plan.stepVersion, recipeSha256: plan.recipeSha256 };
}

export function slicesOf(plan: StepLaunch): TaskSlice[] {
  return Array.from({ length: plan.tasks }, (_, index) => ({ index, count: plan.tasks }));
}

/**
 * `lwm run` arguments of a slice (or, with `taskIndex` null, of the finalizing run). Values are
 * strings so that a scheduler's variable (`$SLURM_ARRAY_TASK_ID`) can stand in for the index.
 */
export function runArgs(plan: StepLaunch, taskIndex: string | null, threads: string = String(plan.threads)): string[] {
  const args = ["run", plan.recipe, "--out", plan.out, "--steps", plan.step, "--threads", threads];
  return taskIndex === null ? args : [...args, "--task-index", taskIndex, "--task-count", String(plan.tasks)];
}
