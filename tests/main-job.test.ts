/**
 * The main job end to end, as `npm start` runs it: the bundled sample recipe through books → vision → qa → pack,
 * then `lwm validate` and `lwm inspect` on the output, a rerun that redoes nothing, and a changed
 * stage that re-packs without re-tokenizing.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manifest } from "@lwm/schemas";
import { ShardReader } from "@lwm/shards";
import { lwmQuiet, repoRoot } from "./cli.js";

const SAMPLE = join(repoRoot, "datasets/sample");

interface UnitCounts {
  planned: number;
  executed: number;
  skipped: number;
}

async function runRecipe(recipe: string, out: string): Promise<Map<string, UnitCounts>> {
  const res = await lwmQuiet(["run", recipe, "--out", out, "--json", "--threads", "2"]);
  expect(res.code, res.stderr).toBe(0);
  const reports = JSON.parse(res.stdout) as { step: string; units: UnitCounts }[];
  return new Map(reports.map((r) => [r.step, r.units]));
}

function shardBytes(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString("base64")]));
}

describe("the main job on the bundled sample", () => {
  let root: string;
  let out: string;
  let first: Map<string, UnitCounts>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "lwm-main-"));
    out = join(root, "out");
    const res = await lwmQuiet(["run", join(SAMPLE, "recipe.json"), "--out", out, "--json", "--threads", "2"]);
    expect(res.code, res.stderr).toBe(0);
    first = new Map((JSON.parse(res.stdout) as { step: string; units: UnitCounts }[]).map((r) => [r.step, r.units]));
  }, 300_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("writes a manifest and shards per stage that lwm validate proves (exit 0)", async () => {
    expect(first.get("books")!.executed).toBeGreaterThan(0);
    expect(first.get("pack")!.executed).toBe(3);
    expect(first.get("vision")!.executed).toBeGreaterThan(0);
    for (const stage of ["2k", "8k"]) {
      const manifest = Manifest.parse(JSON.parse(readFileSync(join(out, stage, "manifest.json"), "utf8")));
      expect(manifest.totals.rows).toBeGreaterThan(0);
      expect(manifest.totals.fill).toBeGreaterThan(0.8);
      // 8k mixes the extractive QA source in (books 0.7, qa 0.3 asked)
      expect(manifest.mixture.map((m) => m.source)).toEqual(stage === "2k" ? ["books"] : ["books", "qa"]);
      for (const m of manifest.mixture) expect(m.tokens).toBeGreaterThan(0);
      expect(manifest.inputs.map((i) => i.file).sort()).toEqual(expect.arrayContaining(["books/the-orchard-ledger.txt"]));
    }
    const res = await lwmQuiet(["validate", out, "--json"]);
    expect(res.code, res.stdout).toBe(0);
    const report = JSON.parse(res.stdout) as { ok: boolean; shards: number; errors: unknown[] };
    expect(report).toMatchObject({ ok: true, errors: [] });
    expect(report.shards).toBeGreaterThanOrEqual(2);
  });

  it("packs rows of exactly seqLen whose segments trace back to the sample files", async () => {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(out, "2k", "manifest.json"), "utf8")));
    const reader = await ShardReader.open(join(out, "2k", manifest.shards[0]!.file));
    try {
      const row = await reader.row(0);
      expect(row.tokens.length).toBe(2048);
      expect(row.tokens[0]).toBe(1); // every example starts with BOS
      for (const p of row.provenance) {
        expect(["text-file", "jsonl"]).toContain(p.kind);
        if (p.kind === "text-file" || p.kind === "jsonl") {
          const raw = readFileSync(join(SAMPLE, p.file)).subarray(p.bytes.start, p.bytes.end);
          expect(raw.length).toBeGreaterThan(0);
        }
      }
    } finally {
      await reader.close();
    }
  });

  it("the vl stage mixes the books with the sample's encoded clips and stills, vision blocks in LWM layout", async () => {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(out, "vl", "manifest.json"), "utf8")));
    expect("stageKind" in manifest && manifest.stageKind).toBe("vision-language");
    expect(manifest.mixture.map((m) => m.source).sort()).toEqual(["books", "clips", "stills"]);
    const media = new Set<string>();
    for (const shard of manifest.shards) {
      const reader = await ShardReader.open(join(out, "vl", shard.file));
      try {
        for (let r = 0; r < shard.rows; r++) {
          const row = await reader.row(r);
          for (const p of row.provenance) if (p.kind === "media") media.add(p.file);
        }
      } finally {
        await reader.close();
      }
    }
    // Provenance names the committed media relative to the recipe.
    expect([...media].sort()).toEqual(
      ["bars-scroll.mp4", "cyan-bar.jpg", "gradient.mp4", "red-square.mp4", "test-pattern.png", "white-square.png", "yellow-fall.mp4"].map((f) => `media/${f}`),
    );
  });

  it("the 8k stage holds long-context QA chats with loss on the answers, as lwm inspect --row shows", async () => {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(out, "8k", "manifest.json"), "utf8")));
    let found: { file: string; row: number } | undefined;
    for (const shard of manifest.shards) {
      const reader = await ShardReader.open(join(out, "8k", shard.file));
      try {
        for (let r = 0; r < shard.rows && !found; r++) if ((await reader.row(r)).provenance.some((p) => p.kind === "qa")) found = { file: shard.file, row: r };
      } finally {
        await reader.close();
      }
      if (found) break;
    }
    expect(found).toBeDefined();
    const res = await lwmQuiet(["inspect", join(out, "8k", found!.file), "--row", String(found!.row)]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/source: qa-chat on \S+ \(document [0-9a-f]{32}\): \d+ question\(s\) by lwm-qa-extractive\/1 about context chunks [0-9a-f]{32}/);
    // the answer after ASSISTANT: is marked as loss («…»), the chat prompt before it is not
    expect(res.stdout).toMatch(/<s>You are a helpful assistant\. USER:[^«]*ASSISTANT:«[^»]+»/);
  }, 60_000);

  it("lwm inspect --json reports the same rows and tokens as the manifest", async () => {
    const res = await lwmQuiet(["inspect", join(out, "2k"), "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(out, "2k", "manifest.json"), "utf8")));
    const summary = JSON.parse(res.stdout) as { rows: number; tokens: number };
    expect(summary.rows).toBe(manifest.totals.rows);
    expect(summary.tokens).toBe(manifest.totals.tokens);
  });

  it("a rerun redoes nothing and leaves the shards byte-identical", async () => {
    const before = shardBytes(join(out, "2k"));
    const again = await runRecipe(join(SAMPLE, "recipe.json"), out);
    expect(again.get("books")).toMatchObject({ executed: 0 });
    expect(again.get("qa")).toMatchObject({ executed: 0 });
    expect(again.get("vision")).toMatchObject({ executed: 0 });
    expect(again.get("pack")).toMatchObject({ executed: 0 });
    expect(shardBytes(join(out, "2k"))).toEqual(before);
  }, 120_000);

  it("a changed stage seqLen re-windows and re-packs that stage without re-tokenizing", async () => {
    const dir = join(root, "recipe-changed");
    cpSync(SAMPLE, dir, { recursive: true });
    const recipe = JSON.parse(readFileSync(join(dir, "recipe.json"), "utf8")) as { stages: { name: string; seqLen: number }[] };
    recipe.stages[1]!.seqLen = 4096;
    writeFileSync(join(dir, "recipe.json"), JSON.stringify(recipe));
    const changedOut = join(root, "out-changed");
    cpSync(out, changedOut, { recursive: true });
    // Same inputs (copied with the recipe), so every tokenize unit is found done.
    const units = await runRecipe(join(dir, "recipe.json"), changedOut);
    const books = units.get("books")!;
    expect(books.executed).toBeGreaterThan(0);
    expect(books.executed).toBeLessThan(books.planned);
    expect(units.get("pack")!.executed).toBe(1);
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(changedOut, "8k", "manifest.json"), "utf8")));
    expect(manifest.seqLen).toBe(4096);
    expect((await lwmQuiet(["validate", changedOut])).code).toBe(0);
  }, 120_000);

  it("lwm train runs the recipe's stages on the packed output, each stage starting from the last", async () => {
    const dir = join(root, "recipe-train");
    cpSync(SAMPLE, dir, { recursive: true });
    const recipe = JSON.parse(readFileSync(join(dir, "recipe.json"), "utf8")) as {
      stages: { name: string; seqLen: number; training: { steps: number; tokensPerBatch: number; lr: { warmupSteps: number } } }[];
    };
    for (const stage of recipe.stages) {
      // vl: 4 rows a step, so its 2 steps see the rows whose vision blocks carry loss (text→video).
      const rows = stage.name === "vl" ? 4 : 1;
      stage.training = { ...stage.training, steps: 2, tokensPerBatch: rows * stage.seqLen, lr: { ...stage.training.lr, warmupSteps: 1 } };
    }
    writeFileSync(join(dir, "recipe.json"), JSON.stringify(recipe));
    const run = join(root, "run");
    const res = await lwmQuiet(["train", join(dir, "recipe.json"), "--data", out, "--out", run, "--workers", "2", "--layout", "balanced", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const lines = readFileSync(join(run, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; stage: string; loss?: number; visionLoss?: number; visionAccuracy?: number | null; initFrom?: string });
    const steps = lines.filter((l) => l.kind === "step");
    expect(steps.map((l) => l.stage)).toEqual(["2k", "2k", "8k", "8k", "vl", "vl"]);
    for (const l of steps) expect(Number.isFinite(l.loss)).toBe(true);
    // The vision-language stage trains the vision head on the sample's encoded clips and stills.
    const vl = steps.filter((x) => x.stage === "vl");
    for (const l of vl) expect(Number.isFinite(l.visionLoss)).toBe(true);
    expect(Math.max(...vl.map((l) => l.visionLoss as number))).toBeGreaterThan(0);
    const second = lines.find((l) => l.kind === "stage" && l.stage === "8k")!;
    expect(second.initFrom).toMatch(/2k/);
    expect(readdirSync(join(run, "checkpoints", "8k", "final"))).toEqual(expect.arrayContaining(["config.json", "model.safetensors"]));
  }, 300_000);

  it("a bad recipe stops before any work, naming the field", async () => {
    const bad = join(root, "bad.json");
    const recipe = JSON.parse(readFileSync(join(SAMPLE, "recipe.json"), "utf8")) as { stages: { seqLen: number }[] };
    recipe.stages[0]!.seqLen = 3;
    writeFileSync(bad, JSON.stringify(recipe));
    const badOut = join(root, "bad-out");
    const res = await lwmQuiet(["run", bad, "--out", badOut]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/stages\[0\]\.seqLen/);
    expect(() => readdirSync(badOut)).toThrow(/ENOENT/);
  });
});
