/**
 * `lwm launch --executor local`: N slice processes, at most M at once, a dying slice rerun once,
 * then finalize; the result is byte-identical to `lwm run`. Slices that keep failing stop the launch
 * before finalize, naming them; `--status` says why they are missing.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marker, markerPid, outputFiles, repoRoot, until } from "./launch-helpers.js";
import { lwmQuiet } from "./cli.js";

let root: string;
let recipe: string;
let reference: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lwm-launch-local-"));
  // The sample recipe on two of its books (with its media and VQ model as they are): enough units
  // for three slices, small enough to be quick.
  const dir = join(root, "recipe");
  mkdirSync(join(dir, "books"), { recursive: true });
  for (const book of ["the-orchard-ledger.txt", "short-stories.jsonl"]) copyFileSync(join(repoRoot, "datasets/sample/books", book), join(dir, "books", book));
  for (const folder of ["media", "vqgan"]) symlinkSync(join(repoRoot, "datasets/sample", folder), join(dir, folder));
  recipe = join(dir, "recipe.json");
  copyFileSync(join(repoRoot, "datasets/sample/recipe.json"), recipe);
  reference = join(root, "reference");
  const ran = await lwmQuiet(["run", recipe, "--out", reference, "--threads", "2"]);
  expect(ran.code, ran.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lwm launch --executor local", () => {
  it("runs 3 slices 2 at a time, reruns a killed slice once, finalizes byte-identical to lwm run", async () => {
    const out = join(root, "local");
    const launched = lwmQuiet(["launch", recipe, "--executor", "local", "--tasks", "3", "--parallel", "2", "--out", out]);
    // Kill slice 0 while it runs (its start marker names its pid): the launcher must rerun it.
    const start = marker(out, "books", 3, 0, "start");
    await until(() => markerPid(start) !== null, 120, "slice 0 of books to start");
    process.kill(markerPid(start)!, "SIGKILL");
    const ran = await launched;
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/books: slice 0 died \(SIGKILL\); running it once more/);
    expect(ran.stderr).toMatch(/pack: finalized/);

    expect(outputFiles(out)).toEqual(outputFiles(reference));
    const valid = await lwmQuiet(["validate", out]);
    expect(valid.code, valid.stdout).toBe(0);
    const status = await lwmQuiet(["launch", recipe, "--status", "--out", out]);
    expect(status.stdout).toMatch(/^books {2}3 slices \(local\): 3 done; finalize: done$/m);
    expect(status.stdout).toMatch(/^pack {2}3 slices \(local\): 3 done; finalize: done$/m);

    // A second launch has nothing left to run but the (idempotent) finalize.
    const again = await lwmQuiet(["launch", recipe, "--executor", "local", "--tasks", "3", "--parallel", "2", "--out", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/books: 0 of 3 slices to run/);
    expect(outputFiles(out)).toEqual(outputFiles(reference));
  }, 300_000);

  it("stops before finalize when slices fail twice, naming them, and --status says why", async () => {
    const out = join(root, "failing");
    // pack before books: every slice finds no examples to pack.
    const ran = await lwmQuiet(["launch", recipe, "--executor", "local", "--steps", "pack", "--tasks", "2", "--parallel", "2", "--out", out]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/pack: slice 0 failed \(exit 1\); running it once more/);
    expect(ran.stderr).toMatch(/pack: slice\(s\) 0, 1 of 2 failed twice; not finalized/);
    expect(existsSync(join(out, "work", "pack", "report.json"))).toBe(false);
    expect(existsSync(join(out, "2k"))).toBe(false);
    const status = await lwmQuiet(["launch", recipe, "--status", "--steps", "pack", "--out", out, "--json"]);
    const [pack] = JSON.parse(status.stdout) as { slices: { index: number; state: string; detail: string }[]; finalize: { state: string } }[];
    expect(pack!.slices.map((s) => s.state)).toEqual(["missing", "missing"]);
    expect(pack!.slices[0]!.detail).toMatch(/^failed: .*no step has published examples of source "books" for stage "2k"/);
    expect(pack!.finalize.state).toBe("missing");
  }, 120_000);

  it("k8s writes the plans and Jobs; a slice of a launched step stops cleanly on SIGTERM and marks itself failed", async () => {
    const out = join(root, "k8s");
    const k8s = await lwmQuiet(["launch", recipe, "--executor", "k8s", "--tasks", "3", "--parallel", "2", "--mount-path", root, "--out", out]);
    expect(k8s.code, k8s.stderr).toBe(0);
    expect(k8s.stderr).toContain(`kubectl apply -f ${join(out, "work", "k8s-jobs.yaml")}`);
    expect(readFileSync(join(out, "work", "k8s-jobs.yaml"), "utf8")).toMatch(/completionMode: Indexed/);
    expect(JSON.parse(readFileSync(join(out, "work", "books", "launch.json"), "utf8"))).toMatchObject({
      step: "books",
      tasks: 3,
      parallel: 2,
      executor: "k8s",
    });

    // What a pod runs: slice 1 of 3; SIGTERM (pod deleted, node drained) once it has started.
    const slice = lwmQuiet(["run", recipe, "--out", out, "--steps", "books", "--threads", "1", "--task-index", "1", "--task-count", "3"]);
    await until(() => markerPid(marker(out, "books", 3, 1, "start")) !== null, 120, "slice 1 to start");
    process.kill(markerPid(marker(out, "books", 3, 1, "start"))!, "SIGTERM");
    const stopped = await slice;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/SIGTERM: finishing the units in flight, then stopping/);
    expect(JSON.parse(readFileSync(marker(out, "books", 3, 1, "failed"), "utf8"))).toMatchObject({
      state: "failed",
      error: "stopped by SIGTERM",
      slice: { index: 1, count: 3 },
    });
    expect(existsSync(marker(out, "books", 3, 1, "done"))).toBe(false);
    const status = await lwmQuiet(["launch", recipe, "--status", "--steps", "books", "--out", out]);
    expect(status.stdout).toMatch(/books {2}3 slices \(k8s\): 0 done, 3 missing \[0: not started; 1: failed: stopped by SIGTERM; 2: not started\]/);
  }, 180_000);

  it("answers usage mistakes with exit 2 before any work", async () => {
    const bad = await lwmQuiet(["launch", recipe, "--executor", "yarn", "--out", join(root, "never")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--executor: must be one of local, slurm, k8s, got "yarn"/);
    expect((await lwmQuiet(["launch", recipe, "--tasks", "0"])).stderr).toMatch(/--tasks: must be a positive integer, got "0"/);
    expect(existsSync(join(root, "never"))).toBe(false);
    const badRecipe = join(root, "bad.json");
    writeFileSync(badRecipe, JSON.stringify({ ...(JSON.parse(readFileSync(recipe, "utf8")) as object), launch: { tasks: -1 } }));
    const invalid = await lwmQuiet(["launch", badRecipe, "--out", join(root, "never")]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/launch\.tasks/);
  }, 60_000);
});
