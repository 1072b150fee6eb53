import { mkdtemp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Recipe } from "@lwm/schemas";
import { writeFileAtomic } from "./atomic.js";
import { sha256File, sha256Hex } from "./hash.js";
import { silentLogger } from "./logger.js";
import { listFiles } from "./publish.js";
import { runStep, STEP_FILES } from "./run-step.js";
import type { Step, WorkUnit } from "./step.js";
import { unitKey, UNIT_RECORD_FILE } from "./units.js";

/**
 * A small real step: per input file, a "count" unit (words, lowercased or not) and a "filter" unit
 * reading the count unit's output (keeps words of at least minLength). Finalize joins them.
 */
function wordStep(inputDir: string, config: { lowercase: boolean; minLength: number }): Step {
  return {
    name: "words",
    version: "1.0.0",
    description: "test step",
    async plan(ctx) {
      const names = (await readdir(inputDir)).sort();
      const units: WorkUnit[] = [];
      const inputs = [];
      for (const name of names) {
        const path = join(inputDir, name);
        const sha = await sha256File(path);
        inputs.push({ path: name, bytes: (await readFile(path)).byteLength, sha256: sha });
        const countKey = unitKey({ step: "words", version: "1.0.0", kind: "count", config: { lowercase: config.lowercase }, inputs: [sha] });
        units.push({
          key: countKey,
          label: `count ${name}`,
          group: name,
          async execute(dir) {
            const text = await readFile(path, "utf8");
            if (text.includes("THROW")) throw new Error(`cannot read ${name}`);
            if (text.includes("BAD")) return { result: { words: 0 }, rejects: [{ source: name, position: { line: 0 }, reason: "contains BAD: skipped" }] };
            const words = text
              .split(/\s+/)
              .filter(Boolean)
              .map((w) => (config.lowercase ? w.toLowerCase() : w));
            await writeFile(join(dir, "words.txt"), words.join("\n"));
            return { result: { words: words.length }, metrics: { words: words.length, inputBytes: text.length } };
          },
        });
        const filterKey = unitKey({ step: "words", version: "1.0.0", kind: "filter", config: { minLength: config.minLength }, inputs: [countKey] });
        units.push({
          key: filterKey,
          label: `filter ${name}`,
          group: name,
          dependsOn: [countKey],
          async execute(dir, unitDirs) {
            const from = unitDirs.get(countKey) as string;
            const files = await readdir(from);
            const words = files.includes("words.txt") ? (await readFile(join(from, "words.txt"), "utf8")).split("\n") : [];
            await writeFile(join(dir, "kept.txt"), words.filter((w) => w.length >= config.minLength).join("\n"));
            return { result: null };
          },
        });
      }
      return {
        units,
        inputs,
        async finalize(done) {
          const parts: string[] = [];
          for (const u of done) if (u.unit.label.startsWith("filter")) parts.push(await readFile(join(u.dir, "kept.txt"), "utf8"));
          const out = join(ctx.stepDir, "all.txt");
          const text = parts.join("\n");
          await writeFileAtomic(out, text);
          return { outputs: [{ path: "all.txt", bytes: text.length, sha256: sha256Hex(text) }], details: { files: parts.length } };
        },
      };
    },
  };
}

const recipe = Recipe.parse({
  formatVersion: 1,
  name: "t",
  sources: [{ kind: "books", name: "b", paths: ["x"] }],
  stages: [{ name: "s", seqLen: 16, ropeTheta: 1e6, mixture: { b: 1 } }],
});

async function setup(): Promise<{ inputDir: string; root: string }> {
  const root = await mkdtemp(join(tmpdir(), "core-runstep-"));
  const inputDir = join(root, "in");
  await mkdir(inputDir);
  await writeFile(join(inputDir, "a.txt"), "The quick brown Fox");
  await writeFile(join(inputDir, "b.txt"), "jumps over the lazy dog");
  await writeFile(join(inputDir, "c.txt"), "BAD file");
  await writeFile(join(inputDir, "d.txt"), "Another Small Sample of words");
  return { inputDir, root };
}

const opts = (root: string, out: string) => ({ recipe, recipeDir: root, outDir: join(root, out), logger: silentLogger, threads: 2 });

async function executions(outDir: string): Promise<{ event: string; label: string }[]> {
  const text = await readFile(join(outDir, "work", "words", STEP_FILES.executions), "utf8");
  return text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; label: string });
}

describe("runStep", () => {
  it("runs every unit once, skips them all on a rerun, and merges rejects", async () => {
    const { inputDir, root } = await setup();
    const step = wordStep(inputDir, { lowercase: true, minLength: 4 });
    const first = await runStep(step, opts(root, "out"));
    expect(first.ok).toBe(true);
    expect(first.units).toMatchObject({ planned: 8, executed: 8, skipped: 0 });
    expect(first.metrics.executed.words).toBe(4 + 5 + 5);
    const all = await readFile(join(root, "out/work/words/all.txt"), "utf8");
    expect(all.split("\n")).toEqual(["quick", "brown", "jumps", "over", "lazy", "", "another", "small", "sample", "words"]);
    const rejects = (await readFile(join(root, "out/work/words/rejects.jsonl"), "utf8")).trim().split("\n");
    expect(rejects.map((l) => JSON.parse(l) as unknown)).toEqual([{ source: "c.txt", position: { line: 0 }, reason: "contains BAD: skipped" }]);
    expect(first.rejects.byReason).toEqual({ "contains BAD": 1 });

    const second = await runStep(step, opts(root, "out"));
    expect(second.units).toMatchObject({ executed: 0, skipped: 8 });
    expect(await readFile(join(root, "out/work/words/all.txt"), "utf8")).toBe(all);
    expect((await executions(join(root, "out"))).filter((e) => e.event === "done")).toHaveLength(8);
  });

  it("a changed config field redoes only the units that read it", async () => {
    const { inputDir, root } = await setup();
    await runStep(wordStep(inputDir, { lowercase: true, minLength: 4 }), opts(root, "out"));
    const again = await runStep(wordStep(inputDir, { lowercase: true, minLength: 5 }), opts(root, "out"));
    expect(again.units).toMatchObject({ executed: 4, skipped: 4 });
    const log = await executions(join(root, "out"));
    expect(log.filter((e) => e.event === "done" && e.label.startsWith("count"))).toHaveLength(4);
    expect(await readFile(join(root, "out/work/words/all.txt"), "utf8")).not.toContain("over");
  });

  it("a failing unit is reported, its dependents are not run, the others finish, and finalize waits", async () => {
    const { inputDir, root } = await setup();
    await writeFile(join(inputDir, "b.txt"), "THROW this");
    const report = await runStep(wordStep(inputDir, { lowercase: false, minLength: 1 }), opts(root, "out"));
    expect(report.ok).toBe(false);
    expect(report.finalized).toBe(false);
    expect(report.failures.map((f) => f.unit).sort()).toEqual(["count b.txt", "filter b.txt"]);
    expect(report.failures.find((f) => f.unit === "count b.txt")?.error).toContain("cannot read b.txt");
    expect(report.units.executed).toBe(6);
    await writeFile(join(inputDir, "b.txt"), "fixed now");
    const rerun = await runStep(wordStep(inputDir, { lowercase: false, minLength: 1 }), opts(root, "out"));
    expect(rerun.ok).toBe(true);
    expect(rerun.units).toMatchObject({ executed: 2, skipped: 6 });
  });

  it("3 slices then a finalizing run give the same bytes as one run", async () => {
    const { inputDir, root } = await setup();
    const step = wordStep(inputDir, { lowercase: true, minLength: 3 });
    await runStep(step, opts(root, "single"));
    const executedPerSlice: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      const r = await runStep(step, { ...opts(root, "sliced"), slice: { index, count: 3 } });
      expect(r.finalized).toBe(false);
      executedPerSlice.push(r.units.executed);
    }
    expect(executedPerSlice.reduce((a, b) => a + b, 0)).toBe(8);
    expect(executedPerSlice.every((n) => n > 0)).toBe(true);
    const fin = await runStep(step, opts(root, "sliced"));
    expect(fin.units.executed).toBe(0);
    const strip = (files: { path: string; sha256: string }[]) =>
      files.filter((f) => !f.path.startsWith("report") && f.path !== STEP_FILES.executions).map((f) => `${f.path} ${f.sha256}`);
    expect(strip(await listFiles(join(root, "sliced/work/words")))).toEqual(strip(await listFiles(join(root, "single/work/words"))));
  });

  it("a unit whose completion record is damaged is redone", async () => {
    const { inputDir, root } = await setup();
    const step = wordStep(inputDir, { lowercase: true, minLength: 4 });
    await runStep(step, opts(root, "out"));
    const unitsDir = join(root, "out/work/words/units");
    const [victim] = (await readdir(unitsDir)).sort();
    await writeFile(join(unitsDir, victim as string, UNIT_RECORD_FILE), "{ not json");
    const again = await runStep(step, opts(root, "out"));
    expect(again.units).toMatchObject({ executed: 1, skipped: 7 });
  });

  it("rejects a plan whose unit depends on a later or foreign unit", async () => {
    const { root } = await setup();
    const key = (n: string) => unitKey({ step: "x", version: "1", kind: n, config: null, inputs: [] });
    const bad: Step = {
      name: "x",
      version: "1",
      description: "",
      async plan() {
        const run = async () => ({ result: null });
        return {
          inputs: [],
          units: [
            { key: key("a"), label: "a", dependsOn: [key("b")], execute: run },
            { key: key("b"), label: "b", execute: run },
          ],
          finalize: async () => ({ outputs: [], details: null }),
        };
      },
    };
    await expect(runStep(bad, opts(root, "out"))).rejects.toThrow(/depends on a unit that is not planned before it/);
  });
});
