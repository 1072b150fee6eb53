/**
 * The Kubernetes executor writes manifests; `kubectl apply -f` is the user's. Per step:
 * - an Indexed Job of N slices (`completionMode: Indexed`, `parallelism: M`,
 *   `backoffLimitPerIndex: 1`: a dying slice is retried once on its own), the slice index from
 *   JOB_COMPLETION_INDEX, the shared volume mounted where the recipe and --out live;
 * - a finalize Job whose init container waits until the N slices' `.done` markers exist.
 * Kubernetes has no dependencies between Jobs, so a later step's slice pods wait in an init
 * container for the earlier step's `final.done` marker. Everything meets on the shared volume.
 */
import { posix } from "node:path";
import { stringify } from "yaml";
import { markerPath, markersDir } from "./markers.js";
import { runArgs, type StepLaunch } from "./plan.js";

export interface K8sSettings {
  image: string;
  namespace?: string;
  volumeClaim: string;
  mountPath: string;
}

export const K8S_DEFAULTS = { image: "lwm:latest", volumeClaim: "lwm-shared", mountPath: "/data" } as const;

/** A Kubernetes object as we write it (plain JSON: maps, lists, strings, numbers). */
export type Manifest = Record<string, unknown>;

const POLL_SECONDS = 10;

/** Checks that the files the pods read and write lie on the shared volume. */
export function checkK8sPaths(plan: StepLaunch, settings: K8sSettings): void {
  const under = (p: string) => p === settings.mountPath || p.startsWith(`${settings.mountPath.replace(/\/$/, "")}/`);
  for (const [what, path] of [
    ["the recipe", plan.recipe],
    ["--out", plan.out],
  ] as const) {
    if (!under(path))
      throw new Error(`k8s: ${what} (${path}) must lie on the shared volume mounted at ${settings.mountPath} (recipe launch.k8s.mountPath or --mount-path)`);
  }
}

function jobName(plan: StepLaunch, suffix = ""): string {
  const step = plan.step.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  return `lwm-${step}-${plan.recipeSha256.slice(0, 8)}${suffix}`;
}

function waitContainer(settings: K8sSettings, name: string, script: string): Manifest {
  return { name, image: settings.image, command: ["sh", "-c", script], volumeMounts: [{ name: "shared", mountPath: settings.mountPath }] };
}

function podSpec(settings: K8sSettings, plan: StepLaunch, init: Manifest[], args: string[]): Manifest {
  return {
    restartPolicy: "Never",
    ...(init.length > 0 ? { initContainers: init } : {}),
    containers: [
      {
        name: "lwm",
        image: settings.image,
        command: ["lwm"],
        args,
        resources: { requests: { cpu: String(plan.threads) } },
        volumeMounts: [{ name: "shared", mountPath: settings.mountPath }],
      },
    ],
    volumes: [{ name: "shared", persistentVolumeClaim: { claimName: settings.volumeClaim } }],
  };
}

function metadata(settings: K8sSettings, name: string, plan: StepLaunch, role: string): Manifest {
  return {
    name,
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
    labels: { "app.kubernetes.io/name": "lwm", "lwm/step": plan.step, "lwm/role": role },
  };
}

/** The two Jobs of every step, in order. */
export function k8sManifests(plans: readonly StepLaunch[], settings: K8sSettings): Manifest[] {
  const out: Manifest[] = [];
  let previous: StepLaunch | null = null;
  for (const plan of plans) {
    const waitForPrevious: Manifest[] = previous
      ? [
          waitContainer(
            settings,
            "wait-for-previous-step",
            `until [ -f ${quote(markerPath(previous.out, previous.step, null, "done"))} ]; do sleep ${POLL_SECONDS}; done`,
          ),
        ]
      : [];
    out.push({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: metadata(settings, jobName(plan), plan, "slices"),
      spec: {
        completionMode: "Indexed",
        completions: plan.tasks,
        parallelism: plan.parallel,
        backoffLimitPerIndex: 1,
        template: { spec: podSpec(settings, plan, waitForPrevious, runArgs(plan, "$(JOB_COMPLETION_INDEX)")) },
      },
    });
    const doneDir = posix.join(markersDir(plan.out, plan.step), String(plan.tasks));
    const countDone = `ls ${quote(doneDir)} 2>/dev/null | grep -c '[.]done$'`;
    out.push({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: metadata(settings, jobName(plan, "-finalize"), plan, "finalize"),
      spec: {
        completions: 1,
        backoffLimit: 1,
        template: {
          spec: podSpec(
            settings,
            plan,
            [waitContainer(settings, "wait-for-slices", `until [ "$(${countDone})" -ge ${plan.tasks} ]; do sleep ${POLL_SECONDS}; done`)],
            runArgs(plan, null),
          ),
        },
      },
    });
    previous = plan;
  }
  return out;
}

/** The manifests as one multi-document YAML file. */
export function k8sYaml(manifests: readonly Manifest[]): string {
  return manifests.map((m) => stringify(m, { lineWidth: 0 })).join("---\n");
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
