/**
 * `lwm launch <recipe.json> --executor local|slurm|k8s [--tasks N] [--parallel M] [--steps a,b] [--out DIR] …`
 *
 * Runs a recipe's steps as N slices each, on this machine (local), as Slurm arrays or as Kubernetes
 * Indexed Jobs, then one finalize run per step. `--status` shows slices done/running/missing per
 * step; launching again submits only the missing slices. Exit 0 launched (local: finished), 1 a
 * slice failed twice or a waited-for chain did not finish, or the recipe is invalid; 2 usage or I/O.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { sha256Hex } from "@lwm/core";
import {
  dryRun,
  EXECUTORS,
  formatStatus,
  K8S_DEFAULTS,
  launchK8s,
  launchLocal,
  launchSlurm,
  launchStatus,
  waitSlurm,
  type Executor,
  type LaunchRequest,
  type StepStatus,
} from "@lwm/launch";
import { formatZodError, Recipe } from "@lwm/schemas";
import { errorMessage, parseCommandLine, usageError, wholeNumber } from "../args.js";
import { defaultRunDir } from "../run-dir.js";
import { requestedSteps, STEPS } from "./run.js";

const USAGE = `usage: lwm launch <recipe.json> [--executor local|slurm|k8s] [--tasks N] [--parallel M] [--steps a,b] [--out DIR]
                  [--threads T] [--dry-run] [--status] [--wait] [--json]
  --executor     local (default): slice processes on this machine; slurm: sbatch arrays; k8s: Indexed Job manifests
  --tasks N      slices per step (default: recipe launch.tasks, else this machine's cores)
  --parallel M   slices running at once (default: recipe launch.parallel, else N)
  --threads T    threads of each slice (default: slurm launch.slurm.cpusPerTask or 1; local cores / M)
  --dry-run      print the scripts (slurm), manifests (k8s) or commands (local); write and run nothing
  --status       slices done / running / pending / missing per launched step, from the markers (and squeue)
  --wait         slurm: stay until the submitted jobs have left the queue; exit 0 only if every step finalized
  slurm:  --partition P --account A --time T --mem M (default: recipe launch.slurm); --train-workers P
  k8s:    --image I --namespace NS --volume-claim PVC --mount-path DIR (default: recipe launch.k8s)
Shared storage is the one requirement: the recipe, its inputs and --out must be on a file system every
slice sees at the same path (NFS, Lustre, a Kubernetes volume).
`;

function fail(message: string): number {
  return usageError("launch", message);
}

export async function run(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "launch",
    USAGE,
    argv,
    {
      executor: { type: "string", default: "local" },
      tasks: { type: "string" },
      parallel: { type: "string" },
      threads: { type: "string" },
      steps: { type: "string" },
      out: { type: "string", default: "out" },
      "dry-run": { type: "boolean" },
      status: { type: "boolean" },
      wait: { type: "boolean" },
      json: { type: "boolean" },
      partition: { type: "string" },
      account: { type: "string" },
      time: { type: "string" },
      mem: { type: "string" },
      "train-workers": { type: "string" },
      image: { type: "string" },
      namespace: { type: "string" },
      "volume-claim": { type: "string" },
      "mount-path": { type: "string" },
    },
    { count: 1, what: "one recipe file" },
  );
  if (typeof cl === "number") return cl;
  const { values, positionals } = cl;
  const recipePath = resolve(positionals[0]!);
  const out = resolve(values.out);

  const executor = values.executor as Executor;
  if (!EXECUTORS.includes(executor)) return fail(`--executor: must be one of ${EXECUTORS.join(", ")}, got "${values.executor}"`);
  const positive = (name: string, text: string | undefined): number | undefined | string => {
    if (text === undefined) return undefined;
    const n = wholeNumber(text);
    return n !== null && n >= 1 ? n : `--${name}: must be a positive integer, got "${text}"`;
  };
  const flags = {
    tasks: positive("tasks", values.tasks),
    parallel: positive("parallel", values.parallel),
    threads: positive("threads", values.threads),
    trainWorkers: positive("train-workers", values["train-workers"]),
  };
  for (const v of Object.values(flags)) if (typeof v === "string") return fail(v);
  const wanted = requestedSteps(values.steps);
  const unknown = wanted.filter((name) => !STEPS.some((s) => s.name === name));
  if (unknown.length > 0) return fail(`--steps: unknown step(s) ${unknown.join(", ")}; known: ${STEPS.map((s) => s.name).join(", ")}`);
  const stepNames = STEPS.filter((s) => wanted.includes(s.name)).map((s) => s.name);

  if (values.status) {
    const statuses = await launchStatus(out, stepNames);
    printStatus(statuses, values.json === true);
    return 0;
  }

  let text: string;
  try {
    text = await readFile(recipePath, "utf8");
  } catch (err) {
    return fail(`cannot read ${recipePath}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`lwm launch: ${recipePath} is not JSON: ${errorMessage(err)}\n`);
    return 1;
  }
  const parsed = Recipe.safeParse(json);
  if (!parsed.success) {
    process.stderr.write(`lwm launch: invalid recipe\n  ${formatZodError(parsed.error, recipePath)}\n`);
    return 1;
  }
  const recipe = parsed.data;
  const defaults = recipe.launch ?? {};
  const tasks = (flags.tasks as number | undefined) ?? defaults.tasks ?? availableParallelism();
  const parallel = Math.min(tasks, (flags.parallel as number | undefined) ?? defaults.parallel ?? tasks);
  const slurm = {
    ...defaults.slurm,
    ...(values.partition ? { partition: values.partition } : {}),
    ...(values.account ? { account: values.account } : {}),
    ...(values.time ? { time: values.time } : {}),
    ...(values.mem ? { mem: values.mem } : {}),
  };
  const threads =
    (flags.threads as number | undefined) ??
    (executor === "slurm" ? (slurm.cpusPerTask ?? 1) : executor === "local" ? Math.max(1, Math.floor(availableParallelism() / parallel)) : 1);
  const k8s = {
    image: values.image ?? defaults.k8s?.image ?? K8S_DEFAULTS.image,
    volumeClaim: values["volume-claim"] ?? defaults.k8s?.volumeClaim ?? K8S_DEFAULTS.volumeClaim,
    mountPath: values["mount-path"] ?? defaults.k8s?.mountPath ?? K8S_DEFAULTS.mountPath,
    ...((values.namespace ?? defaults.k8s?.namespace) ? { namespace: values.namespace ?? defaults.k8s?.namespace } : {}),
  };
  const steps = await Promise.all(STEPS.filter((s) => stepNames.includes(s.name)).map(async (s) => ({ name: s.name, version: (await s.load()).version })));
  const log = (line: string) => process.stderr.write(`lwm launch: ${line}\n`);
  const request: LaunchRequest = {
    recipe: recipePath,
    recipeSha256: sha256Hex(text),
    out,
    steps,
    executor,
    tasks,
    parallel,
    threads,
    lwm: { command: process.execPath, prefix: [resolve(process.argv[1]!)] },
    slurm,
    k8s,
    log,
  };
  const train =
    recipe.model && recipe.stages.some((s) => s.training)
      ? { runDir: defaultRunDir(out, recipe.name), workers: (flags.trainWorkers as number | undefined) ?? ringWorkers(recipe) }
      : null;

  try {
    if (values["dry-run"]) {
      process.stdout.write(dryRun(request, train));
      return 0;
    }
    switch (executor) {
      case "local": {
        const results = await launchLocal(request);
        if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        const failed = results.filter((r) => !r.finalized);
        for (const r of failed) {
          process.stderr.write(
            r.failedSlices.length > 0
              ? `lwm launch: ${r.step}: slice(s) ${r.failedSlices.join(", ")} of ${tasks} failed twice; not finalized (logs: ${out}/work/${r.step}/launch/logs/)\n`
              : `lwm launch: ${r.step}: finalize failed (log: ${out}/work/${r.step}/launch/logs/finalize.log)\n`,
          );
        }
        return failed.length > 0 ? 1 : 0;
      }
      case "slurm": {
        const submitted = await launchSlurm(request, train);
        if (submitted.trainScript) log(`training: sbatch --dependency=afterok:${submitted.steps.at(-1)?.finalizeJob ?? ""} ${submitted.trainScript}`);
        if (!values.wait) {
          if (values.json) process.stdout.write(`${JSON.stringify(submitted, null, 2)}\n`);
          return 0;
        }
        const statuses = await waitSlurm(out, stepNames, log);
        if (values.json) printStatus(statuses, true);
        return statuses.every((s) => s.finalize.state === "done") ? 0 : 1;
      }
      case "k8s": {
        const path = await launchK8s(request);
        log(`wrote ${path}; start it with: kubectl apply -f ${path}`);
        return 0;
      }
    }
  } catch (err) {
    process.stderr.write(`lwm launch: ${errorMessage(err)}\n`);
    return 2;
  }
}

function printStatus(statuses: StepStatus[], json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
  else if (statuses.length === 0) process.stdout.write("no launched steps under this --out\n");
  else process.stdout.write(`${statuses.map(formatStatus).join("\n")}\n`);
}

/** The most ring workers (≤ this machine's cores, a power of two) that every training stage's seqLen allows in the balanced layout (seqLen divisible by 4P). */
function ringWorkers(recipe: Recipe): number {
  let p = 1;
  while (p * 2 <= availableParallelism() && recipe.stages.every((s) => !s.training || s.seqLen % (8 * p) === 0)) p *= 2;
  return p;
}
