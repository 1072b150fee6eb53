/**
 * datasets/tiny-lwm (issue #15) at smoke scale: run.sh with TINY_LWM_SMOKE=1 builds the recipe's
 * pipeline (books → qa → recall → pack, every seqLen ÷ 8, the sample's books), trains lookup → 2k → 8k
 * → 32k a few steps each and needle-evaluates every stage; a rerun finds everything done. Then the
 * held-out guarantee, on what training reads (the packed rows of every stage): no needle sentence,
 * no evaluation-pool number or city planted, no passage of the haystack book.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NeedleEvalRecord } from "@lwm/schemas";
import { MANIFEST_FILE, readManifest, ShardReader } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { poolOfCity, poolOfNumber, EVAL_CITIES } from "@lwm/trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { child, type CliResult } from "./cli.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dataset = join(repoRoot, "datasets/tiny-lwm");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const STAGES = ["lookup", "2k", "8k", "32k", "control-2k"];

let out: string;
let first: CliResult;

function runSh(): Promise<CliResult> {
  return child("bash", [join(dataset, "run.sh"), out], { TINY_LWM_SMOKE: "1", TINY_LWM_CONTROL: "0", TINY_LWM_TEMPLATES: "lwm" }).done;
}

beforeAll(async () => {
  if (!existsSync(CLI)) return;
  out = mkdtempSync(join(tmpdir(), "tiny-lwm-"));
  first = await runSh();
}, 600_000);

describe.skipIf(!existsSync(CLI))("datasets/tiny-lwm run.sh (smoke scale)", () => {
  it("builds, trains lookup → 2k → 8k → 32k and evaluates each stage's final checkpoint, printing the time of each phase", () => {
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    const times = readFileSync(join(out, "times.tsv"), "utf8");
    for (const phase of [
      "build (lwm run)",
      "train main/lookup",
      "eval main/lookup (lwm template)",
      "train main/2k",
      "train main/8k",
      "train main/32k",
      "eval main/2k (lwm template)",
      "eval main/32k (lwm template)",
    ])
      expect(times).toContain(`\t${phase}\t`);
    expect(first.stdout).toMatch(/tiny-lwm: train main\/8k took \d+ s/);
    for (const stage of ["2k", "8k", "32k"]) {
      expect(existsSync(join(out, "runs/main/checkpoints", stage, "final/model.safetensors"))).toBe(true);
      const records = NeedleEvalRecord.array().parse(JSON.parse(readFileSync(join(out, "eval", `main-${stage}-lwm`, "needle.json"), "utf8")));
      // Lengths 256 and 512 at depths 0 and 1 with one needle, 2 needles at 256 only.
      expect(records.map((r) => `${r.needles}/${r.contextTokens}`).sort()).toEqual(["1/256", "1/256", "1/512", "1/512", "2/256", "2/256"]);
    }
    // The lookup stage is evaluated at the short lengths only (256 at smoke scale).
    const lookup = NeedleEvalRecord.array().parse(JSON.parse(readFileSync(join(out, "eval", "main-lookup-lwm", "needle.json"), "utf8")));
    expect(lookup.map((r) => `${r.needles}/${r.contextTokens}`).sort()).toEqual(["1/256", "1/256", "2/256", "2/256"]);
    // The θ schedule reached the checkpoints.
    const theta = (s: string) =>
      (JSON.parse(readFileSync(join(out, "runs/main/checkpoints", s, "final/config.json"), "utf8")) as { rope_theta: number }).rope_theta;
    expect([theta("2k"), theta("8k"), theta("32k")]).toEqual([1e4, 1e5, 1e6]);
  });

  it("finds everything done on a rerun", async () => {
    const again = await runSh();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("tiny-lwm: main/32k already trained");
    expect(again.stdout).toMatch(/main-32k-lwm already evaluated/);
  }, 300_000);

  it("keeps the needle's wording, values and haystack out of every packed training row", async () => {
    const tok = await loadTokenizer();
    const haystackDir = join(out, "books/haystack");
    const haystack = readdirSync(haystackDir)
      .map((f) => readFileSync(join(haystackDir, f), "utf8"))
      .join("\n");
    const haystackFiles = readdirSync(haystackDir);
    // 40 passages of 400 characters from the held-out book, whitespace-normalised. (The sample's
    // books are made from shared sentence templates, so shorter passages recur across its files.)
    const norm = (s: string) => s.replace(/\s+/g, " ");
    const passages = Array.from({ length: 40 }, (_, i) => {
      const at = Math.floor(((i + 0.5) / 40) * (haystack.length - 500));
      return norm(haystack.slice(at, at + 400));
    });
    let recallFacts = 0;
    for (const stage of STAGES) {
      const manifest = await readManifest(join(out, "data", stage, MANIFEST_FILE));
      let text = "";
      for (const shard of manifest.shards) {
        const reader = await ShardReader.open(join(out, "data", stage, shard.file));
        for (let r = 0; r < shard.rows; r++) {
          const row = await reader.row(r);
          text += (await tok.decode(row.tokens)) + "\n";
          for (const p of row.provenance) {
            const from = "file" in p ? p.file : "book" in p ? p.book : undefined;
            if (from !== undefined) for (const h of haystackFiles) expect(from.endsWith(h), `${stage} row ${r} comes from ${from}`).toBe(false);
            if (p.kind !== "recall") continue;
            for (const f of p.facts) {
              expect(poolOfCity(f.city)).toBe("train");
              expect(poolOfNumber(Number(f.number))).toBe("train");
              recallFacts += 1;
            }
          }
        }
      }
      expect(text).not.toMatch(/special magic/i);
      for (const n of text.match(/(?<!\d)\d{7}(?!\d)/g) ?? []) expect(poolOfNumber(Number(n)), `${stage}: ${n}`).toBe("train");
      for (const city of EVAL_CITIES) expect(text).not.toMatch(new RegExp(`secret codes? (of|for) ${city}\\b`));
      const flat = norm(text);
      for (const p of passages) expect(flat.includes(p), `${stage} holds haystack text: ${p}`).toBe(false);
    }
    expect(recallFacts).toBeGreaterThan(20);
  }, 300_000);
});

describe("datasets/tiny-lwm books split", () => {
  it("never lists a haystack book among the training books", async () => {
    const { SHARED, SAMPLE } = (await import(join(dataset, "prepare.mjs"))) as {
      SHARED: { train: string[]; haystack: string[] };
      SAMPLE: { train: string[]; haystack: string[] };
    };
    for (const split of [SHARED, SAMPLE]) for (const h of split.haystack) expect(split.train).not.toContain(h);
  });
});
