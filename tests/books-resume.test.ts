/**
 * Resumable, sliceable work units, through the real CLI in separate processes:
 * - SIGKILL mid-run, rerun: output byte-identical to an uninterrupted run, no finished unit re-run;
 * - 3 concurrent --task-index slices + a finalizing run: byte-identical to one run (duplicates
 *   across slices included);
 * - a changed stage seqLen redoes only that stage's window units, never tokenization.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lwmSpawn, outputDigest, readDocuments, recipeOf, writeRecipe, writeTxtFixtures } from "./books-helpers.js";
import { lwm } from "./cli.js";

interface Execution {
  event: "start" | "done" | "failed";
  key: string;
  label: string;
  pid: number;
}

async function executions(outDir: string): Promise<Execution[]> {
  const text = await readFile(join(outDir, "work/books/executions.log"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Execution);
}

interface Report {
  ok: boolean;
  finalized: boolean;
  units: { planned: number; executed: number; skipped: number };
  metrics: { executed: Record<string, number> };
}

/** A corpus of 12 generated books (one a byte-different but same-text copy of another) and its recipe. */
async function corpus(): Promise<{ dir: string; recipePath: string }> {
  const dir = await mkdtemp(join(tmpdir(), "books-resume-"));
  await writeTxtFixtures(join(dir, "data"), 11, 9000);
  // Same cleaned text as book00 (CRLF + BOM only differ), sorted last so that it lands in another slice.
  const original = await readFile(join(dir, "data/book00.txt"), "utf8");
  await writeFile(join(dir, "data/zz-copy.txt"), original.replace(/^\uFEFF?/, "\uFEFF").replace(/\n/g, "\r\n"));
  const recipePath = await writeRecipe(dir, recipeOf({ sources: [{ kind: "books", name: "gen", paths: ["data"] }] }));
  return { dir, recipePath };
}

describe("books step: resume and slices", () => {
  it("after SIGKILL, a rerun finishes with byte-identical output and runs no finished unit again", async () => {
    const { dir, recipePath } = await corpus();
    const reference = join(dir, "reference");
    expect((await lwm(["run", "--steps", "books", recipePath, "--out", reference, "--threads", "1"])).code).toBe(0);
    const total = (await executions(reference)).filter((e) => e.event === "done").length;

    const out = join(dir, "out");
    const child = lwmSpawn(["run", "--steps", "books", recipePath, "--out", out, "--threads", "1"]);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let doneBeforeKill = 0;
    for (let i = 0; i < 6000; i += 1) {
      doneBeforeKill = (await executions(out)).filter((e) => e.event === "done").length;
      if (doneBeforeKill >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    expect(await exited).toBeNull();
    const first = await executions(out);
    const finished = new Set(first.filter((e) => e.event === "done").map((e) => e.key));
    expect(finished.size).toBeGreaterThanOrEqual(1);
    expect(finished.size).toBeLessThan(total);

    const r = await lwm(["run", "--steps", "books", recipePath, "--out", out, "--threads", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as Report[];
    expect(report?.units.skipped).toBe(finished.size);
    expect(report?.units.executed).toBe(total - finished.size);
    const rerun = (await executions(out)).slice(first.length);
    expect(rerun.filter((e) => e.event === "start" && finished.has(e.key))).toEqual([]);
    const doneCount = new Map<string, number>();
    for (const e of await executions(out)) if (e.event === "done") doneCount.set(e.key, (doneCount.get(e.key) ?? 0) + 1);
    expect([...doneCount.values()].every((n) => n === 1)).toBe(true);
    expect(doneCount.size).toBe(total);

    expect(await outputDigest(out)).toEqual(await outputDigest(reference));
  }, 180_000);

  it("3 concurrent slices + a finalizing run equal one run, duplicates across slices included", async () => {
    const { dir, recipePath } = await corpus();
    const single = join(dir, "single");
    expect((await lwm(["run", "--steps", "books", recipePath, "--out", single, "--threads", "2"])).code).toBe(0);

    const sliced = join(dir, "sliced");
    const children = [0, 1, 2].map((i) =>
      lwmSpawn(["run", "--steps", "books", recipePath, "--out", sliced, "--threads", "1", "--task-index", String(i), "--task-count", "3"]),
    );
    const codes = await Promise.all(children.map((c) => new Promise<number | null>((resolve) => c.on("exit", (code) => resolve(code)))));
    expect(codes).toEqual([0, 0, 0]);
    const sliceReports = await Promise.all(
      [0, 1, 2].map(async (i) => JSON.parse(await readFile(join(sliced, `work/books/report-slice-${i}-of-3.json`), "utf8")) as Report),
    );
    expect(sliceReports.every((s) => !s.finalized && s.units.executed > 0)).toBe(true);

    const r = await lwm(["run", "--steps", "books", recipePath, "--out", sliced, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [fin] = JSON.parse(r.stdout) as Report[];
    expect(fin?.units.executed).toBe(0);
    expect(fin?.finalized).toBe(true);
    expect(await outputDigest(sliced)).toEqual(await outputDigest(single));
    const docs = await readDocuments(sliced);
    expect(docs.filter((d) => d.duplicateOf !== undefined).map((d) => ("file" in d.provenance ? d.provenance.file : ""))).toEqual(["data/zz-copy.txt"]);
  }, 180_000);

  it("a changed stage seqLen redoes only that stage's windows, and a rerun redoes nothing", async () => {
    const { dir, recipePath } = await corpus();
    const out = join(dir, "out");
    expect((await lwm(["run", "--steps", "books", recipePath, "--out", out])).code).toBe(0);
    const recipe = JSON.parse(await readFile(recipePath, "utf8")) as { stages: { seqLen: number }[] };
    (recipe.stages[1] as { seqLen: number }).seqLen = 2048;
    const changed = join(dir, "changed.json");
    await writeFile(changed, JSON.stringify(recipe));
    const r = await lwm(["run", "--steps", "books", changed, "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as Report[];
    expect(report?.units.executed).toBe(12); // one window unit per file for the changed stage
    expect(report?.metrics.executed.tokens).toBeUndefined(); // no tokenize unit ran
    expect(report?.metrics.executed.examples).toBeGreaterThan(0);
    const again = JSON.parse((await lwm(["run", "--steps", "books", changed, "--out", out, "--json"])).stdout) as Report[];
    expect(again[0]?.units.executed).toBe(0);
  }, 180_000);
});
