/**
 * `lwm launch --executor slurm` on a real single-node Slurm (Debian's slurm-wlm + munge, started by
 * tests/slurm/start-slurm.sh): the sample recipe as 4 slices, 2 at a time. One running array task
 * is cancelled with scancel; `--status` shows that slice missing; a relaunch submits only it; the
 * output is byte-identical to `lwm run` and `lwm validate` passes.
 * Where Slurm cannot start (not root, packages missing) the test skips, saying why.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marker, outputFiles, repoRoot, SAMPLE_RECIPE, until } from "./launch-helpers.js";
import { lwmQuiet } from "./cli.js";
import { sampleRun } from "./sample-run.js";

const root = mkdtempSync(join(tmpdir(), "lwm-launch-slurm-"));
const cluster = join(root, "slurm");
const started = spawnSync("bash", [join(repoRoot, "tests/slurm/start-slurm.sh"), cluster], { encoding: "utf8" });
const skipReason = started.status === 3 ? started.stderr.trim() : null;
if (skipReason) console.log(`launch-slurm: skipped: ${skipReason}`);
if (started.status !== 0 && started.status !== 3) throw new Error(`start-slurm.sh failed (${started.status}): ${started.stderr}`);
const env = { SLURM_CONF: join(cluster, "slurm.conf") };

function slurm(program: string, args: string[]): string {
  const r = spawnSync(program, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${program} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Array task ids (`<job>_<i>`) and jobs Slurm lists as queued or running. */
function queued(): Map<string, string> {
  return new Map(
    slurm("squeue", ["-h", "-r", "-o", "%i|%T"])
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("|") as [string, string]),
  );
}

let reference: string;
beforeAll(async () => {
  if (skipReason) return;
  reference = await sampleRun();
}, 180_000);

afterAll(() => {
  if (!skipReason) {
    spawnSync("scancel", ["--user", "root"], { env: { ...process.env, ...env } });
    spawnSync("bash", [join(repoRoot, "tests/slurm/stop-slurm.sh"), cluster]);
  }
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe.skipIf(skipReason !== null)("lwm launch --executor slurm on a real Slurm", () => {
  it("survives a cancelled array task: --status shows it missing, a relaunch submits only it, output byte-identical", async () => {
    const out = join(root, "out");
    const args = ["launch", SAMPLE_RECIPE, "--executor", "slurm", "--tasks", "4", "--parallel", "2", "--out", out];
    const first = await lwmQuiet(args, env);
    expect(first.code, first.stderr).toBe(0);
    const arrayJob = /books: submitted slices 0,1,2,3 of 4 as array job (\d+) \(at most 2 at a time\)/.exec(first.stderr)?.[1];
    expect(arrayJob, first.stderr).toBeDefined();
    expect(first.stderr).toMatch(/books: finalize job \d+ after \d+/);
    expect(first.stderr).toMatch(/pack: submitted slices 0,1,2,3 of 4 as array job \d+ \(at most 2 at a time\), after job \d+/);

    // Cancel a books slice mid-run: one that has started and is not done. (If it manages to finish
    // its last unit before the signal lands, it is done after all; then try the next slice.)
    let cancelled: number | null = null;
    for (let i = 0; i < 4 && cancelled === null; i++) {
      const done = () => existsSync(marker(out, "books", 4, i, "done"));
      await until(
        () => done() || (existsSync(marker(out, "books", 4, i, "start")) && queued().get(`${arrayJob}_${i}`) === "RUNNING"),
        180,
        `books slice ${i} to run`,
      );
      if (done()) continue;
      slurm("scancel", [`${arrayJob}_${i}`]);
      await until(() => existsSync(marker(out, "books", 4, i, "failed")) || existsSync(marker(out, "books", 4, i, "done")), 60, `books slice ${i} to stop`);
      if (existsSync(marker(out, "books", 4, i, "failed"))) cancelled = i;
    }
    expect(cancelled, "no books slice could be cancelled before it finished").not.toBeNull();
    // The other slices finish; the finalize and everything after it are removed (--kill-on-invalid-dep).
    await until(() => queued().size === 0, 240, "the queue to drain");

    const status = await lwmQuiet(["launch", SAMPLE_RECIPE, "--status", "--out", out, "--json"], env);
    const [books, pack] = JSON.parse(status.stdout) as {
      step: string;
      slices: { index: number; state: string; detail: string }[];
      finalize: { state: string };
    }[];
    expect(books!.slices.filter((s) => s.state === "missing").map((s) => s.index)).toEqual([cancelled]);
    expect(books!.slices.find((s) => s.index === cancelled)!.detail).toBe("failed: stopped by SIGTERM");
    expect(books!.finalize.state).toBe("missing");
    expect(pack!.slices.every((s) => s.state === "missing")).toBe(true);
    const text = await lwmQuiet(["launch", SAMPLE_RECIPE, "--status", "--out", out], env);
    expect(text.stdout).toMatch(
      new RegExp(`^books {2}4 slices \\(slurm\\): 3 done, 1 missing \\[${cancelled}: failed: stopped by SIGTERM\\]; finalize: not done`, "m"),
    );

    const again = await lwmQuiet([...args, "--wait"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`books: submitted slices ${cancelled} of 4 as array job \\d+`));
    expect(again.stderr).toMatch(/pack: submitted slices 0,1,2,3 of 4/);
    expect(again.stderr).toMatch(/books {2}4 slices \(slurm\): 4 done; finalize: done/);
    expect(again.stderr).toMatch(/pack {2}4 slices \(slurm\): 4 done; finalize: done/);

    expect(outputFiles(out)).toEqual(outputFiles(reference));
    const valid = await lwmQuiet(["validate", out]);
    expect(valid.code, valid.stdout).toBe(0);
    // Each task logged to its own file, appended across attempts.
    expect(existsSync(join(out, "work", "books", "launch", "logs", `slice-${cancelled}.log`))).toBe(true);
  }, 600_000);
});
