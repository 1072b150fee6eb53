/**
 * `lwm train <recipe.json> [--stages a,b] [--workers P] [--layout balanced|zigzag|contiguous]
 *   [--backend onnx|reference] [--resume] [--init HF_DIR] [--data DIR] [--out DIR] [--json]`
 *
 * Progressive RingAttention training on the recipe's packed stages (<data>/<stage>/manifest.json).
 * Everything checkable without data is checked first: a bad recipe or flag exits 2 naming the field,
 * before any work. Progress goes to stderr; --json prints the run summary as JSON on stdout.
 * SIGTERM/SIGINT finish the step in flight, write a checkpoint and exit 1 (continue with --resume).
 * Exit 0 done, 1 training failed or stopped early, 2 usage, recipe or I/O error.
 */
import { readFile } from "node:fs/promises";
import { formatZodError, Recipe } from "@lwm/schemas";
import { createEngine, PlanError, planTraining, train } from "@lwm/trainer";
import { defaultRunDir } from "../run-dir.js";
import { reportHint } from "../report-hint.js";
import { errorMessage, isSystemError, parseCommandLine, usageError, wholeNumber, withoutBom } from "../args.js";

const USAGE =
  "usage: lwm train <recipe.json> [--stages a,b] [--workers P] [--layout zigzag|balanced|contiguous] [--backend onnx|reference]\n" +
  "                 [--resume] [--init HF_DIR] [--data DIR] [--out DIR] [--json]\n" +
  "  --data DIR   folder holding <stage>/manifest.json (the pipeline's --out; default: out)\n" +
  "  --out DIR    run folder: metrics.jsonl, loss.html, checkpoints/ (default: <data>/runs/<recipe name>)\n" +
  "  --workers P  ring-attention workers; every stage's seqLen must be divisible by 4P (balanced), 2P (zigzag) or P (contiguous)\n" +
  "  --layout     how a row is dealt to the ring: balanced (default: 4P pieces dealt by their real attention work under the\n" +
  "               row's segments, best for packed rows), zigzag (causal balance for one document per row), contiguous\n";

function fail(message: string): number {
  return usageError("train", message);
}

export async function run(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "train",
    USAGE,
    argv,
    {
      stages: { type: "string" },
      workers: { type: "string", default: "1" },
      layout: { type: "string", default: "balanced" },
      backend: { type: "string", default: "onnx" },
      resume: { type: "boolean" },
      init: { type: "string" },
      data: { type: "string", default: "out" },
      out: { type: "string" },
      json: { type: "boolean" },
    },
    { count: 1, what: "one recipe file" },
  );
  if (typeof cl === "number") return cl;
  const { values, positionals } = cl;
  const recipePath = positionals[0]!;
  const workers = wholeNumber(values.workers);
  if (workers === null || workers < 1) return fail(`--workers: must be a positive integer, got "${values.workers}"`);
  const { layout, backend } = values;
  if (layout !== "zigzag" && layout !== "contiguous" && layout !== "balanced") return fail(`--layout: must be zigzag, balanced or contiguous, got "${layout}"`);
  if (backend !== "onnx" && backend !== "reference") return fail(`--backend: must be onnx or reference, got "${backend}"`);

  let json: unknown;
  try {
    json = JSON.parse(withoutBom(await readFile(recipePath, "utf8")));
  } catch (err) {
    return fail(`${recipePath}: ${isSystemError(err) && err.code === "ENOENT" ? "no such file" : errorMessage(err)}`);
  }
  const parsed = Recipe.safeParse(json);
  if (!parsed.success) return fail(formatZodError(parsed.error, recipePath));
  const recipe = parsed.data;

  const stages = values.stages
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const { init, data: dataRoot } = values;
  const runDir = values.out ?? defaultRunDir(dataRoot, recipe.name);
  // SIGTERM (preemption) or SIGINT: finish the step in flight, checkpoint, stop. A second signal aborts.
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write(`lwm train: ${signal}: finishing the current step, then checkpointing (send again to abort without a checkpoint)\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const plan = planTraining(recipe, { ...(stages ? { stages } : {}), workers, layout, hasInit: init !== undefined });
    const summary = await train({
      plan,
      dataRoot,
      runDir,
      resume: values.resume === true,
      ...(init !== undefined ? { init } : {}),
      createEngine,
      backend,
      log: (line) => process.stderr.write(line),
      shouldStop: () => stopRequested,
    });
    if (values.json) process.stdout.write(JSON.stringify(summary) + "\n");
    else {
      for (const s of summary.stages) {
        process.stdout.write(
          `${s.stage}: ${s.steps} steps, loss ${s.finalLoss?.toFixed(4) ?? "–"}, eval loss ${s.evalLoss?.toFixed(4) ?? "–"}, checkpoint ${s.checkpoint}\n`,
        );
      }
      process.stdout.write(`metrics ${summary.metrics}\nloss curve ${summary.curve}\n`);
    }
    (values.json ? process.stderr : process.stdout).write(reportHint(dataRoot, runDir, recipe.vqgan === undefined ? undefined : recipePath));
    if (summary.stopped) {
      process.stderr.write(`lwm train: stopped before the end; continue with: lwm train ${recipePath} --resume --out ${runDir}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof PlanError) return fail(err.message);
    process.stderr.write(`lwm train: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
