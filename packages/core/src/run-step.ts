import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import type { Recipe } from "@lwm/schemas";
import { tempPathFor, writeFileAtomic, writeJsonAtomic } from "./atomic.js";
import { sha256File, stableStringify, type JsonValue } from "./hash.js";
import type { Logger } from "./logger.js";
import { Progress } from "./progress.js";
import { countRejects, type RejectRecord } from "./rejects.js";
import { groupsOfSlice, type TaskSlice } from "./slice.js";
import { stepWorkDir } from "./step-dirs.js";
import type { CompletedUnit, Step, StepContext, WorkUnit } from "./step.js";
import { UNIT_RECORD_FILE, UNIT_RECORD_FORMAT, UnitRecord, type UnitFile } from "./units.js";
import { WorkerPool } from "./worker-pool.js";

export interface RunStepOptions {
  recipe: Recipe;
  recipeDir: string;
  outDir: string;
  logger: Logger;
  /** CPU threads for this run (default: 1). */
  threads?: number;
  /** Run only this slice of the units, and no finalize. */
  slice?: TaskSlice;
  /** Milliseconds between progress lines (default 10 s). */
  progressIntervalMs?: number;
  /** Asked before each unit starts: true stops the run (units in flight finish, the rest are reported as not run). */
  shouldStop?: () => boolean;
}

/** A step's report: <stepDir>/report.json (or report-slice-<i>-of-<n>.json). Logs, not outputs: it carries times. */
export interface StepReport {
  step: string;
  version: string;
  slice: TaskSlice | null;
  ok: boolean;
  units: { planned: number; selected: number; executed: number; skipped: number; failed: number };
  failures: { unit: string; error: string }[];
  inputs: { files: number; bytes: number };
  outputs: { path: string; bytes: number; sha256: string }[];
  rejects: { total: number; byReason: Record<string, number>; file: string | null };
  /** Summed unit metrics: all selected units, and those executed in this run. */
  metrics: { total: Record<string, number>; executed: Record<string, number> };
  timeMs: number;
  /** CPU time of the whole process during the step (all threads, native pools included). */
  cpuMs: { user: number; system: number };
  /** Executed-unit metrics per second of this run's wall time. */
  throughput: Record<string, number>;
  threads: { total: number; workers: number };
  finalized: boolean;
  details: JsonValue;
}

/** File names in a step's folder. */
export const STEP_FILES = {
  units: "units",
  rejects: "rejects.jsonl",
  executions: "executions.log",
  report: "report.json",
} as const;

/**
 * Runs one step: plans, picks the slice, skips finished units, runs the rest (at most `threads`
 * at once, each after its dependencies), and — unless sliced — finalizes and merges rejects.
 * A failing unit is logged and reported; the others go on, and finalize does not run.
 */
export async function runStep(step: Step, options: RunStepOptions): Promise<StepReport> {
  const started = Date.now();
  const cpuStart = process.cpuUsage();
  const threads = options.threads ?? 1;
  const logger = options.logger.child(step.name);
  const stepDir = stepWorkDir(options.outDir, step.name);
  const unitsDir = join(stepDir, STEP_FILES.units);
  const workers = Math.max(0, Math.min(threads, step.workerThreads ? step.workerThreads(threads) : threads));
  const pool = new WorkerPool(workers);
  const ctx: StepContext = { recipe: options.recipe, recipeDir: options.recipeDir, outDir: options.outDir, stepDir, logger, threads, pool };
  try {
    const plan = await step.plan(ctx);
    checkPlan(step.name, plan.units);
    // Only now, with a valid plan, does anything get written.
    await mkdir(unitsDir, { recursive: true });
    if (!options.slice) {
      await removeStaleTemps(unitsDir, logger);
      await removeStaleTemps(stepDir, logger);
    }

    const selected = options.slice
      ? (() => {
          const groups = groupsOfSlice(plan.units.map(groupOf), options.slice);
          return plan.units.filter((u) => groups.has(groupOf(u)));
        })()
      : plan.units;

    const records = new Map<string, UnitRecord>();
    const pending: WorkUnit[] = [];
    for (const unit of selected) {
      const record = await readCompletion(unitsDir, unit, step, logger);
      if (record) records.set(unit.key, record);
      else pending.push(unit);
    }
    const skipped = records.size;
    logger.info(
      `${plan.units.length} units planned, ${selected.length} in this ${options.slice ? `slice ${options.slice.index}/${options.slice.count}` : "run"}: ${skipped} already done, ${pending.length} to run`,
    );

    const executedMetrics: Record<string, number> = {};
    const failures: { unit: string; error: string }[] = [];
    // Progress is weighted by unit size (input bytes) when the step gives sizes, else by unit count.
    const weighted = pending.some((u) => u.size !== undefined);
    const weightOf = (u: WorkUnit): number => (weighted ? (u.size ?? 0) : 1);
    let unitsDone = 0;
    const progress = new Progress({
      unit: weighted ? "MB" : "units",
      total: pending.reduce((sum, u) => sum + weightOf(u), 0),
      logger,
      label: step.name,
      intervalMs: options.progressIntervalMs ?? 10_000,
      ...(weighted ? { format: (bytes: number) => (bytes / 1e6).toFixed(1), suffix: () => `(${unitsDone}/${pending.length} units)` } : {}),
    });
    const limit = pLimit(Math.max(1, threads));
    const finished = new Map<string, Promise<boolean>>();
    for (const unit of selected) if (records.has(unit.key)) finished.set(unit.key, Promise.resolve(true));
    const executions = join(stepDir, STEP_FILES.executions);
    for (const unit of pending) {
      const deps = (unit.dependsOn ?? []).map((k) => finished.get(k) ?? Promise.resolve(false));
      const done = Promise.all(deps).then(async (depsOk) => {
        if (depsOk.some((ok) => !ok)) {
          failures.push({ unit: unit.label, error: "not run: a unit it depends on failed" });
          return false;
        }
        return limit(async () => {
          if (options.shouldStop?.()) {
            failures.push({ unit: unit.label, error: "not run: stopped on request" });
            return false;
          }
          await appendFile(
            executions,
            `${JSON.stringify({ event: "start", key: unit.key, label: unit.label, pid: process.pid, time: new Date().toISOString() })}\n`,
          );
          try {
            const unitDirs = new Map((unit.dependsOn ?? []).map((k) => [k, join(unitsDir, k)]));
            const record = await executeUnit(unitsDir, unit, step, unitDirs);
            records.set(unit.key, record);
            for (const [name, value] of Object.entries(record.metrics)) executedMetrics[name] = (executedMetrics[name] ?? 0) + value;
            await appendFile(
              executions,
              `${JSON.stringify({ event: "done", key: unit.key, label: unit.label, pid: process.pid, time: new Date().toISOString() })}\n`,
            );
            unitsDone += 1;
            progress.advance(weightOf(unit));
            return true;
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            logger.error(`unit ${unit.label} failed: ${message}`);
            failures.push({ unit: unit.label, error: message });
            await appendFile(
              executions,
              `${JSON.stringify({ event: "failed", key: unit.key, label: unit.label, pid: process.pid, error: message, time: new Date().toISOString() })}\n`,
            );
            return false;
          }
        });
      });
      finished.set(unit.key, done);
    }
    await Promise.all(finished.values());

    const totalMetrics: Record<string, number> = {};
    for (const record of records.values()) {
      for (const [name, value] of Object.entries(record.metrics)) totalMetrics[name] = (totalMetrics[name] ?? 0) + value;
    }
    const unitRejects: RejectRecord[] = [...(plan.rejects ?? []), ...selected.flatMap((u) => records.get(u.key)?.rejects ?? [])];
    const report: StepReport = {
      step: step.name,
      version: step.version,
      slice: options.slice ?? null,
      ok: failures.length === 0,
      units: { planned: plan.units.length, selected: selected.length, executed: pending.length - failures.length, skipped, failed: failures.length },
      failures,
      inputs: { files: plan.inputs.length, bytes: plan.inputs.reduce((s, f) => s + f.bytes, 0) },
      outputs: [],
      rejects: { ...countRejects(unitRejects), file: null },
      metrics: { total: sortKeys(totalMetrics), executed: sortKeys(executedMetrics) },
      timeMs: 0,
      cpuMs: { user: 0, system: 0 },
      throughput: {},
      threads: { total: threads, workers },
      finalized: false,
      details: null,
    };

    if (!options.slice && failures.length === 0) {
      const completed: CompletedUnit[] = plan.units.map((unit) => ({
        unit,
        dir: join(unitsDir, unit.key),
        record: records.get(unit.key) as UnitRecord,
      }));
      const problems = plan.check?.(completed) ?? [];
      for (const problem of problems) {
        logger.error(problem);
        failures.push({ unit: "(check)", error: problem });
      }
      report.ok = problems.length === 0;
      if (problems.length > 0) {
        // Nothing is published, but the user sees what was quarantined (e.g. why nothing was accepted).
        await writeFileAtomic(join(stepDir, STEP_FILES.rejects), unitRejects.map((r) => `${stableStringify(r)}\n`).join(""));
        report.rejects = { ...countRejects(unitRejects), file: STEP_FILES.rejects };
      } else {
        const outcome = await plan.finalize(completed);
        const rejects = [...unitRejects, ...(outcome.rejects ?? [])];
        await writeFileAtomic(join(stepDir, STEP_FILES.rejects), rejects.map((r) => `${stableStringify(r)}\n`).join(""));
        report.outputs = outcome.outputs;
        report.details = outcome.details;
        report.rejects = { ...countRejects(rejects), file: STEP_FILES.rejects };
        report.finalized = true;
      }
    }
    report.timeMs = Date.now() - started;
    const cpu = process.cpuUsage(cpuStart);
    report.cpuMs = { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) };
    const seconds = Math.max(report.timeMs / 1000, 1e-3);
    report.throughput = Object.fromEntries(Object.entries(report.metrics.executed).map(([k, v]) => [`${k}PerSecond`, round(v / seconds)]));
    const reportName = options.slice ? `report-slice-${options.slice.index}-of-${options.slice.count}.json` : STEP_FILES.report;
    await writeJsonAtomic(join(stepDir, reportName), report as unknown as JsonValue);
    logger.info(
      `${report.ok ? "done" : "FAILED"}: ${report.units.executed} units run, ${skipped} skipped, ${failures.length} failed, ${report.rejects.total} rejects, ${(report.timeMs / 1000).toFixed(1)}s`,
    );
    return report;
  } finally {
    await pool.close();
  }
}

function groupOf(unit: WorkUnit): string {
  return unit.group ?? unit.key;
}

function checkPlan(stepName: string, units: readonly WorkUnit[]): void {
  const seen = new Map<string, WorkUnit>();
  for (const unit of units) {
    if (!/^[0-9a-f]{64}$/.test(unit.key)) throw new Error(`step ${stepName}: unit ${unit.label} has a key that is not 64 hex digits`);
    if (seen.has(unit.key)) throw new Error(`step ${stepName}: units ${seen.get(unit.key)?.label} and ${unit.label} have the same key`);
    for (const dep of unit.dependsOn ?? []) {
      const d = seen.get(dep);
      if (!d) throw new Error(`step ${stepName}: unit ${unit.label} depends on a unit that is not planned before it`);
      if (groupOf(d) !== groupOf(unit)) throw new Error(`step ${stepName}: unit ${unit.label} depends on ${d.label} of another group`);
    }
    seen.set(unit.key, unit);
  }
}

/** The unit's completion record if its folder is complete and intact; otherwise removes the folder and returns null. */
async function readCompletion(unitsDir: string, unit: WorkUnit, step: Step, logger: Logger): Promise<UnitRecord | null> {
  const dir = join(unitsDir, unit.key);
  let text: string;
  try {
    text = await readFile(join(dir, UNIT_RECORD_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    return null;
  }
  const parsed = UnitRecord.safeParse(parseJsonOrUndefined(text));
  const problem = !parsed.success
    ? "its completion record does not parse"
    : parsed.data.key !== unit.key || parsed.data.step !== step.name
      ? "its completion record names another unit"
      : await missingFile(dir, parsed.data.files);
  if (parsed.success && problem === null) return parsed.data;
  logger.warn(`unit ${unit.label}: ${problem ?? "invalid"}; redoing it`);
  await rm(dir, { recursive: true, force: true });
  return null;
}

async function missingFile(dir: string, files: readonly UnitFile[]): Promise<string | null> {
  for (const f of files) {
    try {
      if ((await stat(join(dir, f.name))).size !== f.bytes) return `${f.name} has the wrong size`;
    } catch {
      return `${f.name} is missing`;
    }
  }
  return null;
}

async function executeUnit(unitsDir: string, unit: WorkUnit, step: Step, unitDirs: ReadonlyMap<string, string>): Promise<UnitRecord> {
  const finalDir = join(unitsDir, unit.key);
  const temp = tempPathFor(finalDir);
  await mkdir(temp);
  try {
    const outcome = await unit.execute(temp, unitDirs);
    const names = (await readdir(temp)).filter((n) => n !== UNIT_RECORD_FILE).sort();
    const files: UnitFile[] = [];
    for (const name of names) files.push({ name, bytes: (await stat(join(temp, name))).size, sha256: await sha256File(join(temp, name)) });
    const record: UnitRecord = UnitRecord.parse({
      format: UNIT_RECORD_FORMAT,
      step: step.name,
      version: step.version,
      key: unit.key,
      label: unit.label,
      files,
      result: outcome.result,
      rejects: outcome.rejects ?? [],
      metrics: sortKeys(outcome.metrics ?? {}),
    });
    await writeJsonAtomic(join(temp, UNIT_RECORD_FILE), record as unknown as JsonValue);
    try {
      await rename(temp, finalDir);
    } catch (err) {
      // Another process (a concurrent slice) finished the same unit first: same key, same bytes.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      await rm(temp, { recursive: true, force: true });
    }
    return record;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes temp files and folders left by crashed runs (only those whose process is gone). */
async function removeStaleTemps(unitsDir: string, logger: Logger): Promise<void> {
  for (const name of await readdir(unitsDir)) {
    const m = /\.(?:tmp|old)-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isAlive(pid)) continue;
    logger.info(`removing ${name}, left by an interrupted run`);
    await rm(join(unitsDir, name), { recursive: true, force: true });
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a process of this machine with that pid is alive (EPERM: alive, another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
