import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeJsonAtomic } from "@lwm/core";
import { markerPath, markersForRun, pruneMarkers, readRunMarkers, RunMarkers, type MarkerScope, type SliceMarker } from "./markers.js";
import { writeStepLaunch, type StepLaunch } from "./plan.js";
import { formatStatus, missingSlices, stepStatus } from "./status.js";

let out: string;
const SHA = "a".repeat(64);
const OTHER = "b".repeat(64);
const scope = (): MarkerScope => ({ outDir: out, step: "books", stepVersion: "1.0.0", recipeSha256: SHA });
const plan = (): StepLaunch => ({
  format: 1,
  step: "books",
  stepVersion: "1.0.0",
  recipe: join(out, "recipe.json"),
  recipeSha256: SHA,
  out,
  tasks: 3,
  parallel: 2,
  threads: 1,
  executor: "local",
});

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "lwm-markers-"));
});
afterAll(async () => rm(out, { recursive: true, force: true }));

describe("slice markers", () => {
  it("are written only for launched steps", async () => {
    expect(await markersForRun(scope(), { index: 0, count: 3 })).toBeNull();
    await writeStepLaunch(plan());
    expect(await markersForRun(scope(), { index: 0, count: 3 })).toBeInstanceOf(RunMarkers);
  });

  it("tell done, failed, started-and-gone and never-started slices apart", async () => {
    const s0 = new RunMarkers(scope(), { index: 0, count: 3 });
    await s0.start();
    await s0.done({ selected: 4, executed: 4, skipped: 0 });
    const s1 = new RunMarkers(scope(), { index: 1, count: 3 });
    await s1.start();
    await s1.failed("stopped by SIGTERM");
    // Slice 2 of another recipe: it does not count for this one.
    const stale = new RunMarkers({ ...scope(), recipeSha256: OTHER }, { index: 2, count: 3 });
    await stale.start();
    await stale.done({ selected: 1, executed: 1, skipped: 0 });

    const status = await stepStatus(plan());
    expect(status.slices.map((s) => s.state)).toEqual(["done", "missing", "missing"]);
    expect(status.slices[1]!.detail).toBe("failed: stopped by SIGTERM");
    expect(status.slices[2]!.detail).toBe("not started");
    expect(status.finalize.state).toBe("missing");
    expect(missingSlices(status)).toEqual([1, 2]);
    expect(formatStatus(status)).toBe(
      "books  3 slices (local): 1 done, 2 missing [1: failed: stopped by SIGTERM; 2: not started]; finalize: not done (not started)",
    );

    // A slice that starts again clears its failure; a scheduler's word beats a stale start marker.
    await s1.start();
    expect((await readRunMarkers(scope(), { index: 1, count: 3 })).failed).toBeUndefined();
    const queued = await stepStatus(plan(), { slice: (i) => (i === 2 ? "PENDING" : undefined), finalize: () => "PENDING" });
    expect(queued.slices.map((s) => s.state)).toEqual(["done", "running", "pending"]);
    expect(queued.finalize.state).toBe("pending");
  });

  it("a start marker of a process that is gone (on this host) is missing; a live one is running", async () => {
    const live = new RunMarkers(scope(), { index: 2, count: 3 });
    await live.start();
    expect((await stepStatus(plan())).slices[2]!.state).toBe("running");
    // The same marker as written by a process that has exited since (killed before it could mark a failure).
    const gone = spawnSync("true").pid;
    const marker = JSON.parse(await readFile(markerPath(out, "books", { index: 2, count: 3 }, "start"), "utf8")) as SliceMarker;
    await writeJsonAtomic(markerPath(out, "books", { index: 2, count: 3 }, "start"), { ...marker, pid: gone });
    const status = await stepStatus(plan());
    expect(status.slices[2]!.state).toBe("missing");
    expect(status.slices[2]!.detail).toMatch(new RegExp(`\\(pid ${gone}\\), no longer running$`));
  });

  it("a new launch prunes markers of another recipe and every finalize marker", async () => {
    const fin = new RunMarkers(scope(), null);
    await fin.start();
    await fin.done({ selected: 9, executed: 0, skipped: 9 });
    const stale = new RunMarkers({ ...scope(), recipeSha256: OTHER }, { index: 0, count: 3 });
    await stale.start();
    await pruneMarkers(scope(), 3);
    expect(existsSync(markerPath(out, "books", null, "done"))).toBe(false);
    expect(existsSync(markerPath(out, "books", { index: 0, count: 3 }, "start"))).toBe(false);
    expect(existsSync(markerPath(out, "books", { index: 1, count: 3 }, "start"))).toBe(true);
  });
});
