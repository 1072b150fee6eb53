import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkSlice, ConfigError, createLogger, runStep, type Step, type StepReport, type TaskSlice } from "@lwm/core";
import { formatZodError, Recipe } from "@lwm/schemas";

/**
 * The step registry, in pipeline order. Adding a step is one entry: its name (as `--steps` names
 * it) and a loader for its `Step` (loaded only when it runs).
 */
export const STEPS: ReadonlyArray<{ name: string; load: () => Promise<Step> }> = [
  { name: "books", load: async () => (await import("@lwm/books")).booksStep },
  { name: "qa", load: async () => (await import("@lwm/synth-qa")).qaStep },
  { name: "pack", load: async () => (await import("@lwm/pack")).packStep },
];

const USAGE = `usage: lwm run <recipe.json> [--out DIR] [--steps books,...] [--task-index i --task-count n] [--threads N] [--json] [--progress-seconds S]

  --out DIR            output root (default: ./out); step files go to DIR/work/<step>/
  --steps a,b          run only these steps (default: all: ${STEPS.map((s) => s.name).join(",")})
  --task-index i       run only slice i of n of every step's units (Slurm arrays, indexed Jobs);
  --task-count n       no finalize: run once more without them to finalize
  --threads N          CPU threads in all (default: ${availableParallelism()}, this machine's)
  --json               print the step reports as JSON on stdout
  --progress-seconds S seconds between progress lines on stderr (default 10)
`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        steps: { type: "string" },
        "task-index": { type: "string" },
        "task-count": { type: "string" },
        threads: { type: "string" },
        json: { type: "boolean", default: false },
        "progress-seconds": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
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

  const int = (name: string, text: string | undefined, min: number): number | undefined | Error => {
    if (text === undefined) return undefined;
    const n = Number(text);
    return Number.isInteger(n) && n >= min ? n : new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  };
  const threads = int("threads", values.threads, 1) ?? availableParallelism();
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

  const wanted = values.steps === undefined ? STEPS.map((s) => s.name) : values.steps.split(",").map((s) => s.trim()).filter(Boolean);
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
    json = JSON.parse(text);
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
  const steps = await Promise.all(STEPS.filter((s) => wanted.includes(s.name)).map((s) => s.load()));
  // Native pools read their sizes from the environment once per process: set them before any step runs.
  for (const step of steps) {
    for (const [name, value] of Object.entries(step.nativeEnv?.(threads as number) ?? {})) {
      if (process.env[name] === undefined) process.env[name] = value;
    }
  }
  const reports: StepReport[] = [];
  let code = 0;
  for (const step of steps) {
    try {
      const report = await runStep(step, {
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
        code = 1;
        break;
      }
      // A later step plans against this step's published outputs, which only the unsliced
      // (finalizing) run writes: a sliced run does one step's slice at a time.
      const next = steps[steps.indexOf(step) + 1];
      if (slice && next) {
        logger.info(`slice ${slice.index}/${slice.count} of ${step.name} done; run without --task-index to finalize it and go on to ${next.name}`);
        break;
      }
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`lwm run: invalid recipe\n  ${recipePath}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else {
    for (const r of reports) {
      process.stdout.write(
        `${r.step}: ${r.ok ? "ok" : "FAILED"}; units ${r.units.executed} run, ${r.units.skipped} done before, ${r.units.failed} failed; ${r.rejects.total} rejects; ${r.finalized ? "finalized" : "not finalized (slice)"}; ${(r.timeMs / 1000).toFixed(1)}s\n`,
      );
    }
  }
  return code;
}
