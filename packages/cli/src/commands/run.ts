import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkSlice, ConfigError, createLogger, runStep, sha256Hex, type Step, type StepReport, type TaskSlice } from "@lwm/core";
import { formatZodError, Recipe } from "@lwm/schemas";
import { reportHint } from "../report-hint.js";
import { errorMessage, isSystemError, joinNegativeValues, withoutBom } from "../args.js";

/**
 * The step registry, in pipeline order. Adding a step is one entry: its name (as `--steps` names
 * it) and a loader for its `Step` (loaded only when it runs).
 */
/** The step names `--steps a,b` asks for (all steps when the flag is absent), in the order given. */
export function requestedSteps(flag: string | undefined): string[] {
  return flag === undefined
    ? STEPS.map((s) => s.name)
    : flag
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

export const STEPS: ReadonlyArray<{ name: string; load: () => Promise<Step> }> = [
  { name: "books", load: async () => (await import("@lwm/books")).booksStep },
  { name: "vision", load: async () => (await import("@lwm/vision-step")).visionStep },
  { name: "qa", load: async () => (await import("@lwm/synth-qa")).qaStep },
  { name: "recall", load: async () => (await import("@lwm/recall")).recallStep },
  { name: "pack", load: async () => (await import("@lwm/pack")).packStep },
];

/** More threads than cores only adds workers that wait; four times the cores leaves room for oversubscription. */
const MAX_THREADS = 4 * availableParallelism();

const USAGE = `usage: lwm run <recipe.json> [--out DIR] [--steps books,...] [--task-index i --task-count n] [--threads N] [--json] [--progress-seconds S]

  --out DIR            output root (default: ./out); step files go to DIR/work/<step>/
  --steps a,b          run only these steps (default: all: ${STEPS.map((s) => s.name).join(",")})
  --task-index i       run only slice i of n of every step's units (Slurm arrays, indexed Jobs);
  --task-count n       no finalize: run once more without them to finalize
  --threads N          CPU threads in all (default: ${availableParallelism()}, this machine's; at most ${MAX_THREADS})
  --json               print the step reports as JSON on stdout
  --progress-seconds S seconds between progress lines on stderr (default 10)
`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    const options = {
      out: { type: "string" },
      steps: { type: "string" },
      "task-index": { type: "string" },
      "task-count": { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean", default: false },
      "progress-seconds": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    } as const;
    args = parseArgs({ args: joinNegativeValues(argv, options), allowPositionals: true, options });
  } catch (err) {
    process.stderr.write(`lwm run: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const usage = (message: string): number => {
    process.stderr.write(`lwm run: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) return usage("give exactly one recipe file");
  const recipePath = resolve(positionals[0] as string);

  const int = (name: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined | Error => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    return new Error(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got "${text}"`);
  };
  const threads = int("threads", values.threads, 1, MAX_THREADS) ?? Math.min(availableParallelism(), MAX_THREADS);
  const index = int("task-index", values["task-index"], 0);
  const count = int("task-count", values["task-count"], 1);
  const progressSeconds = int("progress-seconds", values["progress-seconds"], 0) ?? 10;
  for (const v of [threads, index, count, progressSeconds]) if (v instanceof Error) return usage(v.message);
  if ((index === undefined) !== (count === undefined)) return usage("--task-index and --task-count go together");
  let slice: TaskSlice | undefined;
  if (index !== undefined && count !== undefined) {
    slice = { index: index as number, count: count as number };
    try {
      checkSlice(slice);
    } catch (err) {
      return usage((err as Error).message);
    }
  }

  const wanted = requestedSteps(values.steps);
  if (wanted.length === 0) return usage(`--steps names no step; known: ${STEPS.map((s) => s.name).join(", ")}`);
  const unknown = wanted.filter((name) => !STEPS.some((s) => s.name === name));
  if (unknown.length > 0) return usage(`unknown step(s) ${unknown.join(", ")}; known: ${STEPS.map((s) => s.name).join(", ")}`);

  let text: string;
  try {
    text = await readFile(recipePath, "utf8");
  } catch (err) {
    process.stderr.write(`lwm run: cannot read ${recipePath}: ${(err as Error).message}\n`);
    return 2;
  }
  let json: unknown;
  try {
    json = JSON.parse(withoutBom(text));
  } catch (err) {
    process.stderr.write(`lwm run: ${recipePath} is not JSON: ${(err as Error).message}\n`);
    return 1;
  }
  const parsed = Recipe.safeParse(json);
  if (!parsed.success) {
    process.stderr.write(`lwm run: invalid recipe\n  ${formatZodError(parsed.error, recipePath)}\n`);
    return 1;
  }

  const logger = createLogger({ level: process.env.LWM_LOG_LEVEL === "debug" ? "debug" : "info" });
  const outDir = resolve(values.out ?? "out");
  const outProblem = await writableFolderProblem(outDir);
  if (outProblem) {
    process.stderr.write(`lwm run: cannot write the output folder ${outDir}: ${outProblem}\n`);
    return 2;
  }
  const steps = await Promise.all(STEPS.filter((s) => wanted.includes(s.name)).map((s) => s.load()));
  // Every requested step checks its config before the first one starts: a late step's mistake
  // (an unset API key variable) must not cost an early step's work.
  try {
    for (const step of steps) await step.preflight?.({ recipe: parsed.data, recipeDir: dirname(recipePath), outDir });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`lwm run: invalid recipe\n  ${recipePath}: ${err.message}\n`);
    return 1;
  }
  // Native pools read their sizes from the environment once per process: set them before any step runs.
  for (const step of steps) {
    for (const [name, value] of Object.entries(step.nativeEnv?.(threads as number) ?? {})) {
      if (process.env[name] === undefined) process.env[name] = value;
    }
  }
  // SIGTERM (scancel, preemption, a Job's pod deleted): start no new unit, let the units in flight
  // finish, mark the run failed and exit 1. A second SIGTERM exits at once.
  let stopRequested = false;
  const onSigterm = () => {
    if (stopRequested) process.exit(143);
    stopRequested = true;
    logger.warn("SIGTERM: finishing the units in flight, then stopping (send again to stop at once)");
  };
  process.on("SIGTERM", onSigterm);
  const recipeSha256 = sha256Hex(text);
  // Loaded here, past every usage check: a mistyped command line stays quick.
  const { markersForRun } = await import("@lwm/launch");
  const reports: StepReport[] = [];
  let code = 0;
  for (const step of steps) {
    // Launched steps (lwm launch) get start/done/failed markers; done only once every unit is in place.
    const markers = await markersForRun({ outDir, step: step.name, stepVersion: step.version, recipeSha256 }, slice ?? null);
    await markers?.start();
    try {
      const report = await runStep(step, {
        shouldStop: () => stopRequested,
        recipe: parsed.data,
        recipeDir: dirname(recipePath),
        outDir,
        logger,
        threads: threads as number,
        progressIntervalMs: (progressSeconds as number) * 1000,
        ...(slice ? { slice } : {}),
      });
      reports.push(report);
      if (!report.ok) {
        await markers?.failed(stopRequested ? "stopped by SIGTERM" : report.failures.map((f) => `${f.unit}: ${f.error}`).join("; "));
        code = 1;
        break;
      }
      await markers?.done(report.units);
      // A later step plans against this step's published outputs, which only the unsliced
      // (finalizing) run writes: a sliced run does one step's slice at a time.
      const next = steps[steps.indexOf(step) + 1];
      if (slice && next) {
        logger.info(`slice ${slice.index}/${slice.count} of ${step.name} done; run without --task-index to finalize it and go on to ${next.name}`);
        break;
      }
    } catch (err) {
      await markers?.failed(err instanceof Error ? err.message : String(err));
      if (err instanceof ConfigError) {
        process.stderr.write(`lwm run: invalid recipe\n  ${recipePath}: ${err.message}\n`);
        return 1;
      }
      // The file system refused (disk full, read-only, permissions): say so, without a stack trace.
      if (isSystemError(err)) {
        process.stderr.write(`lwm run: ${step.name}: ${errorMessage(err)}\n`);
        return 2;
      }
      throw err;
    }
  }
  process.off("SIGTERM", onSigterm);
  if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else {
    for (const r of reports) {
      process.stdout.write(
        `${r.step}: ${r.ok ? "ok" : "FAILED"}; units ${r.units.executed} run, ${r.units.skipped} done before, ${r.units.failed} failed; ${r.rejects.total} rejects; ${r.finalized ? "finalized" : r.slice ? `not finalized (slice ${r.slice.index}/${r.slice.count})` : "not finalized (failed)"}; ${(r.timeMs / 1000).toFixed(1)}s\n`,
      );
    }
  }
  (values.json ? process.stderr : process.stdout).write(
    reportHint(values.out ?? "out", undefined, parsed.data.vqgan === undefined ? undefined : positionals[0]),
  );
  return code;
}

/**
 * Why the output folder cannot be used (it is a file, read-only, not permitted…), or null. Checked
 * before any work by creating and removing a probe file, so the message names the folder and the
 * system's reason rather than whichever write happened to fail first.
 */
async function writableFolderProblem(dir: string): Promise<string | null> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.lwm-write-probe-${process.pid}`);
    await writeFile(probe, "");
    await rm(probe);
    return null;
  } catch (err) {
    const code = isSystemError(err) ? err.code : undefined;
    const why: Record<string, string> = {
      EEXIST: "a file of that name exists (give a folder)",
      ENOTDIR: "a file of that name, or on its path, exists (give a folder)",
      EACCES: "permission denied",
      EPERM: "operation not permitted",
      EROFS: "the file system is read-only",
      ENOSPC: "no space left on the device",
    };
    return (code && why[code]) ?? errorMessage(err);
  }
}
