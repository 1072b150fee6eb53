/** Shared helpers of the `lwm launch` end-to-end tests: "byte-identical" as a user checks it, markers, polling (cli.ts runs the CLI). */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

import { repoRoot } from "./cli.js";

export { repoRoot };
export const SAMPLE_RECIPE = join(repoRoot, "datasets/sample/recipe.json");

/**
 * Every file a run publishes or caches, with its bytes: shards, manifests, published examples,
 * rejects, unit folders. Logs are left out: reports (times), executions.log and the launcher's own
 * files (launch.json, markers, scripts, logs).
 */
export function outputFiles(out: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name === "launch" || name === "launch.json" || name === "executions.log" || /^report.*\.json$/.test(name) || name === "runs") continue;
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(out, path), readFileSync(path).toString("base64"));
    }
  };
  walk(out);
  return files;
}

/** Waits until `check()` is true, polling every 50 ms, for at most `seconds`. */
export async function until(check: () => boolean, seconds: number, what: string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The launcher's marker file of slice `index` of `count` of `step` (see packages/launch/src/markers.ts). */
export function marker(out: string, step: string, count: number, index: number, state: "start" | "done" | "failed"): string {
  return join(out, "work", step, "launch", "markers", String(count), `${index}.${state}`);
}

export function markerPid(path: string): number | null {
  if (!existsSync(path)) return null;
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { pid: number }).pid;
  } catch {
    return null;
  }
}
