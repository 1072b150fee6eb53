/**
 * The shards and checkpoints as the Python ecosystem sees them, with the interpreter CI provides in
 * LWM_PYTHON (.ci/run makes a virtualenv with pyarrow, datasets, transformers, torch, safetensors
 * and numpy when the machine has a local pip index):
 * - pyarrow runs README.md's "Reading the shards from Python" snippet as written on the sample
 *   shards; what it derives (input_ids, position_ids, labels, weights) equals @lwm/shards' row
 *   helpers on every row and follows the loss rule;
 * - Hugging Face `datasets` opens a shard with Dataset.from_file and sees the same tokens;
 * - transformers loads the checkpoint `lwm train` wrote as LlamaForCausalLM and recomputes the
 *   stage's held-out loss from the shards, agreeing with metrics.jsonl's evalLoss within 1e-5.
 * Without LWM_PYTHON every test here skips, saying so in one line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Recipe } from "@lwm/schemas";
import { IGNORE_INDEX, labels, lossWeights, positionIds, readManifest, ShardReader, type PackedRow } from "@lwm/shards";
import { EvalRecord, MetricsRecord } from "@lwm/trainer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleRun } from "./sample-run.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const RECIPE = join(repoRoot, "datasets/sample/recipe.json");
const SCRIPTS = join(repoRoot, "tests/python");
const PYTHON = process.env.LWM_PYTHON;
if (!PYTHON) console.warn("skipped: Python interop (LWM_PYTHON is not set; .ci/run sets it when the machine has a local pip index)");
const STAGE = "2k";

let root = "";
let out = "";
let run = "";
/** The sample recipe with a 3-step 2k stage: the check is about the loss rule, not a trained model. */
let recipe: Recipe;

/** Runs a command (asynchronously, so vitest stays responsive) and resolves with its stdout; rejects with its stderr on a non-zero exit. */
function sh(cmd: string, args: string[], what: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${what} failed (${err.message.split("\n")[0]}):\n${stderr}`));
      else done(stdout);
    });
  });
}

const python = (script: string, ...args: string[]) => sh(PYTHON!, [join(SCRIPTS, script), ...args], `python ${script}`);

/** The README's Python code block under "Reading the shards from Python". */
function readmeSnippet(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Reading the shards from Python"));
  const m = /```python\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README.md: no ```python block under '## Reading the shards from Python'");
  return m[1]!;
}

async function shardRows(stageDir: string): Promise<Map<string, PackedRow[]>> {
  const manifest = await readManifest(join(stageDir, "manifest.json"));
  const rows = new Map<string, PackedRow[]>();
  for (const entry of manifest.shards) {
    const reader = await ShardReader.open(join(stageDir, entry.file));
    try {
      const list: PackedRow[] = [];
      for (let r = 0; r < reader.numRows; r++) list.push(await reader.row(r));
      rows.set(entry.file, list);
    } finally {
      await reader.close();
    }
  }
  return rows;
}

describe.skipIf(!PYTHON)("Python interop (LWM_PYTHON)", () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "lwm-python-"));
    run = join(root, "run");
    out = await sampleRun();
    const sample = Recipe.parse(JSON.parse(readFileSync(RECIPE, "utf8")));
    recipe = {
      ...sample,
      stages: sample.stages.map((s) =>
        s.name === STAGE && s.training ? { ...s, training: { ...s.training, steps: 3, lr: { ...s.training.lr, warmupSteps: 1 } } } : s,
      ),
    };
    const shortRecipe = join(root, "recipe.json");
    writeFileSync(shortRecipe, JSON.stringify(recipe));
    await sh(process.execPath, [CLI, "train", shortRecipe, "--data", out, "--stages", STAGE, "--workers", "2", "--out", run], "lwm train");
  }, 900_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("pyarrow runs the README snippet as written; every row's positions, labels and weights match @lwm/shards and the loss rule", async () => {
    const snippetFile = join(root, "snippet.py");
    writeFileSync(snippetFile, readmeSnippet());
    const results = (await python("readme_rows.py", snippetFile, out))
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            shard: string;
            row: number;
            asWritten: boolean;
            n: number;
            input_ids: number[];
            position_ids: number[];
            labels: number[];
            weights: number[];
          },
      );
    expect(results[0]).toMatchObject({ shard: `${STAGE}/shard-00000.arrow`, row: 0, asWritten: true });

    const byStage = new Map<string, Map<string, PackedRow[]>>();
    let checked = 0;
    for (const got of results) {
      const [stage, file] = got.shard.split("/") as [string, string];
      if (!byStage.has(stage)) byStage.set(stage, await shardRows(join(out, stage)));
      const row = byStage.get(stage)!.get(file)![got.row]!;
      const n = row.cuSeqlens[row.cuSeqlens.length - 1]!;
      expect(got.n).toBe(n);
      expect(got.input_ids).toEqual(Array.from(row.tokens.subarray(0, n)));
      expect(got.position_ids).toEqual(Array.from(positionIds(row).subarray(0, n)));
      expect(got.labels).toEqual(Array.from(labels(row).subarray(0, n)));
      expect(got.weights).toEqual(Array.from(lossWeights(row).subarray(0, n)));
      // The loss rule, on what Python derived: no label on a segment's first token, and each
      // segment's text weights sum to 1 over its text loss targets (w_text = 1 / its text loss
      // tokens), its vision weights to 1 over its vision loss targets (a text→vision example has both).
      for (let s = 0; s + 1 < row.cuSeqlens.length; s++) {
        const [start, end] = [row.cuSeqlens[s]!, row.cuSeqlens[s + 1]!];
        expect(got.position_ids[start]).toBe(0);
        expect(got.labels[start]).toBe(IGNORE_INDEX);
        for (const vision of [0, 1]) {
          const at = Array.from({ length: end - start }, (_, k) => start + k).filter((i) => got.labels[i] !== IGNORE_INDEX && row.vision[i] === vision);
          if (at.length > 0) expect(at.reduce((a, i) => a + got.weights[i]!, 0)).toBeCloseTo(1, 5);
        }
      }
      checked++;
    }
    const total = [...byStage.values()].flatMap((m) => [...m.values()]).reduce((a, rows) => a + rows.length, 0);
    expect(checked).toBe(total + 1); // every row once, plus row 0 as written
  }, 900_000);

  it("Hugging Face datasets opens a shard with Dataset.from_file and sees the same tokens", async () => {
    const stageDir = join(out, STAGE);
    const rows = (await shardRows(stageDir)).get("shard-00000.arrow")!;
    const got = JSON.parse(await python("hf_datasets_tokens.py", join(stageDir, "shard-00000.arrow"))) as {
      rows: number;
      columns: string[];
      tokens: number[][];
    };
    expect(got.rows).toBe(rows.length);
    expect(got.columns).toContain("tokens");
    expect(got.tokens).toEqual(rows.map((r) => Array.from(r.tokens)));
  }, 900_000);

  it("transformers loads the checkpoint lwm train wrote as LlamaForCausalLM and recomputes the stage's held-out loss (1e-5)", async () => {
    const metrics = readFileSync(join(run, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => MetricsRecord.parse(JSON.parse(l)));
    const evals = metrics.filter((m): m is EvalRecord => m.kind === "eval" && m.stage === STAGE);
    expect(evals.length, "the sample's 2k stage holds out rows and evaluates at its end").toBeGreaterThan(0);
    const final = evals[evals.length - 1]!;
    const training = recipe.stages.find((s) => s.name === STAGE)!.training!;
    const got = JSON.parse(
      await python("hf_eval_loss.py", join(run, "checkpoints", STAGE, "final"), join(out, STAGE), String(training.evalFraction), String(training.evalRows)),
    ) as { evalLoss: number; rows: number; examples: number };
    expect(got.rows).toBe(final.rows);
    expect(got.examples).toBe(final.examples);
    expect(Math.abs(got.evalLoss - final.evalLoss) / final.evalLoss).toBeLessThan(1e-5);
  }, 900_000); // importing torch and transformers alone took minutes on a loaded 2-core machine
});
