/**
 * One `lwm run` of the bundled sample recipe per test run, for the files that only read its output
 * (a run of the whole sample costs ≈ 18 s on a 2-core machine; each of those files used to make its
 * own). The folder comes from the global setup (global-setup.ts); the first file that asks runs it,
 * the others wait for it. Nobody writes into it: a test that changes a run makes its own.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { lwmQuiet } from "./cli.js";
import { SAMPLE_RECIPE } from "./launch-helpers.js";

/** The output folder of `lwm run datasets/sample/recipe.json --threads 2` (read-only), made on the first call of the test run. */
export async function sampleRun(): Promise<string> {
  const dir = inject("sampleRunDir");
  const out = join(dir, "out");
  const done = join(dir, "done");
  const failed = join(dir, "failed");
  let mine = true;
  try {
    mkdirSync(join(dir, "lock"));
  } catch {
    mine = false;
  }
  if (mine) {
    const ran = await lwmQuiet(["run", SAMPLE_RECIPE, "--out", out, "--threads", "2"]);
    writeFileSync(ran.code === 0 ? done : failed, `exit ${ran.code}\n${ran.stderr}`);
  }
  while (!existsSync(done) && !existsSync(failed)) await sleep(200);
  if (existsSync(failed)) throw new Error(`lwm run ${SAMPLE_RECIPE} failed: ${readFileSync(failed, "utf8")}`);
  return out;
}
