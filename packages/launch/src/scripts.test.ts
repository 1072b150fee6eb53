/**
 * What the executors hand to the cluster: sbatch scripts and Kubernetes Job manifests, checked
 * field by field against what Slurm and the batch/v1 Job API use, and their shell pieces run for real.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { k8sManifests, k8sYaml, K8S_DEFAULTS, checkK8sPaths } from "./k8s.js";
import { RunMarkers } from "./markers.js";
import type { StepLaunch } from "./plan.js";
import { slurmScripts, trainScript } from "./slurm.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lwm-scripts-"));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

const SHA = "c".repeat(64);
const lwm = { command: "/usr/bin/node", prefix: ["/opt/lwm/main.js"] };
const plan = (step: string, out = "/data/out"): StepLaunch => ({
  format: 1,
  step,
  stepVersion: "1.0.0",
  recipe: "/data/recipe.json",
  recipeSha256: SHA,
  out,
  tasks: 4,
  parallel: 2,
  threads: 3,
  executor: "slurm",
});

/** The `#SBATCH` options of a script, as sbatch reads them. */
function sbatchOptions(script: string): string[] {
  return script
    .split("\n")
    .filter((l) => l.startsWith("#SBATCH "))
    .map((l) => l.slice("#SBATCH ".length));
}

describe("sbatch scripts", () => {
  it("run slice $SLURM_ARRAY_TASK_ID of N, M at a time, requeueable, with appended per-task logs", () => {
    const { slices, finalize } = slurmScripts(plan("books"), lwm, { partition: "cpu", account: "proj", time: "2:00:00", mem: "8G" });
    expect(sbatchOptions(slices)).toEqual([
      "--job-name=lwm-books",
      "--output=/data/out/work/books/launch/logs/slice-%a.log",
      "--open-mode=append",
      "--requeue",
      "--kill-on-invalid-dep=yes",
      "--ntasks=1",
      "--cpus-per-task=3",
      "--partition=cpu",
      "--account=proj",
      "--time=2:00:00",
      "--mem=8G",
      "--array=0-3%2",
    ]);
    expect(slices).toContain(
      `exec /usr/bin/node /opt/lwm/main.js run /data/recipe.json --out /data/out --steps books --threads 3 --task-index "$SLURM_ARRAY_TASK_ID" --task-count 4\n`,
    );
    expect(sbatchOptions(finalize)).toContain("--kill-on-invalid-dep=yes");
    expect(sbatchOptions(finalize)).toContain("--output=/data/out/work/books/launch/logs/finalize.log");
    expect(finalize).toContain("exec /usr/bin/node /opt/lwm/main.js run /data/recipe.json --out /data/out --steps books --threads 3\n");
    // bash accepts them.
    for (const script of [slices, finalize]) expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
  });

  it("trains on one node with --resume when requeued or when a checkpoint exists", () => {
    const runDir = join(root, "run");
    const script = trainScript(lwm, { recipe: "/data/recipe.json", out: "/data/out", runDir, workers: 4, settings: {} });
    expect(sbatchOptions(script)).toEqual(expect.arrayContaining(["--nodes=1", "--cpus-per-task=4", "--requeue", "--open-mode=append", "--signal=B:TERM@300"]));
    // Run the script with `exec` replaced by echo: which command would it start?
    const command = (env: Record<string, string>) =>
      spawnSync("bash", ["-c", script.replace(/^exec /m, "echo ")], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" }).stdout.trim();
    const fresh = `/usr/bin/node /opt/lwm/main.js train /data/recipe.json --data /data/out --out ${runDir} --workers 4`;
    expect(command({})).toBe(fresh);
    expect(command({ SLURM_RESTART_COUNT: "1" })).toBe(`${fresh} --resume`);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, "latest.json"), "{}");
    expect(command({})).toBe(`${fresh} --resume`);
  });
});

/**
 * The batch/v1 Job fields the manifests use, strict: a misspelled or misplaced field fails the parse
 * (the API server would reject or, worse, silently drop it).
 */
const VolumeMount = z.object({ name: z.string(), mountPath: z.string() }).strict();
const Container = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    image: z.string(),
    command: z.array(z.string()),
    args: z.array(z.string()).optional(),
    resources: z
      .object({ requests: z.object({ cpu: z.string() }).strict() })
      .strict()
      .optional(),
    volumeMounts: z.array(VolumeMount),
  })
  .strict();
const PodSpec = z
  .object({
    restartPolicy: z.enum(["Never", "OnFailure"]),
    initContainers: z.array(Container).optional(),
    containers: z.array(Container).min(1),
    volumes: z.array(z.object({ name: z.string(), persistentVolumeClaim: z.object({ claimName: z.string() }).strict() }).strict()),
  })
  .strict();
const Job = z
  .object({
    apiVersion: z.literal("batch/v1"),
    kind: z.literal("Job"),
    metadata: z
      .object({
        // DNS-1123 label; Indexed Jobs need names short enough for their pods' hostnames.
        name: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
          .max(63),
        namespace: z.string().optional(),
        labels: z.record(z.string(), z.string()),
      })
      .strict(),
    spec: z
      .object({
        completionMode: z.literal("Indexed").optional(),
        completions: z.number().int().positive(),
        parallelism: z.number().int().positive().optional(),
        backoffLimit: z.number().int().nonnegative().optional(),
        backoffLimitPerIndex: z.number().int().nonnegative().optional(),
        template: z.object({ spec: PodSpec }).strict(),
      })
      .strict(),
  })
  .strict();
type Job = z.infer<typeof Job>;

describe("Kubernetes manifests", () => {
  const settings = { ...K8S_DEFAULTS, namespace: "data" };

  it("are an Indexed Job of N slices and a finalize Job per step, as batch/v1 names the fields", () => {
    const docs = parseAllDocuments(k8sYaml(k8sManifests([plan("books"), plan("pack")], settings))).map((d) => Job.parse(d.toJS()));
    expect(docs.map((d) => `${d.kind} ${d.metadata.name}`)).toEqual([
      `Job lwm-books-${SHA.slice(0, 8)}`,
      `Job lwm-books-${SHA.slice(0, 8)}-finalize`,
      `Job lwm-pack-${SHA.slice(0, 8)}`,
      `Job lwm-pack-${SHA.slice(0, 8)}-finalize`,
    ]);
    for (const d of docs) {
      expect(d.apiVersion).toBe("batch/v1");
      expect(d.metadata.namespace).toBe("data");
      const pod = d.spec.template.spec;
      // backoffLimitPerIndex requires restartPolicy Never.
      expect(pod.restartPolicy).toBe("Never");
      expect(pod.volumes).toEqual([{ name: "shared", persistentVolumeClaim: { claimName: "lwm-shared" } }]);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) expect(c.volumeMounts).toEqual([{ name: "shared", mountPath: "/data" }]);
    }
    const [slices, finalize, packSlices] = docs as [Job, Job, Job];
    expect(slices.spec).toMatchObject({ completionMode: "Indexed", completions: 4, parallelism: 2, backoffLimitPerIndex: 1 });
    expect(slices.spec.template.spec.initContainers).toBeUndefined();
    const container = slices.spec.template.spec.containers[0]!;
    expect(container.command).toEqual(["lwm"]);
    expect(container.args).toEqual([
      "run",
      "/data/recipe.json",
      "--out",
      "/data/out",
      "--steps",
      "books",
      "--threads",
      "3",
      "--task-index",
      "$(JOB_COMPLETION_INDEX)",
      "--task-count",
      "4",
    ]);
    expect(container.resources).toEqual({ requests: { cpu: "3" } });
    expect(finalize.spec).toMatchObject({ completions: 1, backoffLimit: 1 });
    expect(finalize.spec.completionMode).toBeUndefined();
    expect(finalize.spec.template.spec.initContainers?.map((c) => c.name)).toEqual(["wait-for-slices"]);
    expect(finalize.spec.template.spec.containers[0]!.args).toEqual(["run", "/data/recipe.json", "--out", "/data/out", "--steps", "books", "--threads", "3"]);
    expect(packSlices.spec.template.spec.initContainers?.map((c) => c.name)).toEqual(["wait-for-previous-step"]);
  });

  it("wait in init containers until the slices' done markers (or the previous step's finalize) exist", async () => {
    const out = join(root, "k8s-out");
    const local = { ...K8S_DEFAULTS, mountPath: root };
    const [, finalize, packSlices] = k8sManifests([plan("books", out), plan("pack", out)], local).map((m) => Job.parse(m));
    const waitSlices = finalize!.spec.template.spec.initContainers![0]!.command[2]!;
    const waitPrevious = packSlices!.spec.template.spec.initContainers![0]!.command[2]!;
    // One poll of each wait loop: `until` succeeds at once, or the loop would sleep (cut short by timeout).
    const passes = (script: string) => spawnSync("timeout", ["1", "sh", "-c", script]).status === 0;
    const scope = { outDir: out, step: "books", stepVersion: "1.0.0", recipeSha256: SHA };
    expect(passes(waitSlices)).toBe(false);
    for (let i = 0; i < 4; i++) {
      if (i === 3) expect(passes(waitSlices)).toBe(false);
      const m = new RunMarkers(scope, { index: i, count: 4 });
      await m.start();
      await m.done({ selected: 1, executed: 1, skipped: 0 });
    }
    expect(passes(waitSlices)).toBe(true);
    expect(passes(waitPrevious)).toBe(false);
    await new RunMarkers(scope, null).done({ selected: 4, executed: 0, skipped: 4 });
    expect(passes(waitPrevious)).toBe(true);
  });

  it("refuse a recipe or --out off the shared volume", () => {
    expect(() => checkK8sPaths(plan("books", "/home/me/out"), settings)).toThrow(/--out \(\/home\/me\/out\) must lie on the shared volume mounted at \/data/);
  });
});
