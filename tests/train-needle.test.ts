/**
 * `lwm eval needle` end to end on a tiny random checkpoint: the grid JSON validates as
 * NeedleEvalRecord[], has one cell per (needles, length, depth), and the heat map is written.
 * (A random model's accuracy is whatever it is; prompt building and scoring have unit tests.)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NeedleEvalRecord } from "@lwm/schemas";
import { initParams, saveCheckpoint, toHfConfig, type LlamaConfig } from "@lwm/trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { lwm, type CliResult } from "./cli.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const book = resolve(repoRoot, "../shared/data/books/pg1342_pride_and_prejudice_en.txt");
const hasSharedData = existsSync(book);
if (!hasSharedData) console.warn("skipped: ../shared/data not found");

let root: string;
let ckpt: string;
let haystack: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "needle-"));
  const cfg: LlamaConfig = { vocabSize: 32000, visionVocabSize: 0, dim: 8, layers: 1, heads: 2, ffnDim: 16, normEps: 1e-5, ropeTheta: 1e4 };
  ckpt = join(root, "ckpt");
  await saveCheckpoint(ckpt, { params: initParams(cfg, 1), cfg, config: toHfConfig(cfg, 256, { bosId: 1, eosId: 2, padId: 0 }), state: null });
  haystack = join(root, "hay.txt");
  writeFileSync(haystack, Array.from({ length: 200 }, (_, i) => `On day ${i} the river rose a little and the miller wrote it down.`).join(" "));
});

function evalNeedle(args: string[]): Promise<CliResult> {
  return lwm(["eval", "needle", "--checkpoint", ckpt, ...args]);
}

describe("lwm eval needle", () => {
  it.skipIf(!existsSync(CLI))(
    "runs the length × depth grid for 1 and 2 needles and writes valid records and a heat map",
    async () => {
      const out = join(root, "grid");
      const r = await evalNeedle([
        "--haystack",
        haystack,
        "--lengths",
        "128,200",
        "--depths",
        "0,0.5,1",
        "--needles",
        "1,2",
        "--trials",
        "2",
        "--max-new",
        "12",
        "--out",
        out,
        "--json",
      ]);
      expect(r.stderr).toContain("needle 12/12");
      expect(r.code).toBe(0);
      const records = NeedleEvalRecord.array().parse(JSON.parse(readFileSync(join(out, "needle.json"), "utf8")));
      expect(records).toHaveLength(12);
      expect(new Set(records.map((x) => `${x.needles}/${x.contextTokens}/${x.depth}`)).size).toBe(12);
      for (const x of records) {
        expect(x.trials).toBe(2);
        expect(x.accuracy).toBe(x.correct / 2);
        expect(x.checkpoint).toBe(ckpt);
      }
      const printed = JSON.parse(r.stdout) as { records: unknown[] };
      expect(printed.records).toEqual(records);
      const html = readFileSync(join(out, "needle.html"), "utf8");
      expect(html.match(/<svg/g)).toHaveLength(2);
      expect(html).not.toMatch(/<script/);
    },
    120_000,
  );

  it.skipIf(!existsSync(CLI) || !hasSharedData)(
    "reads a real book as the haystack (../shared/data) and prints the grid",
    async () => {
      const r = await evalNeedle(["--haystack", book, "--lengths", "256", "--depths", "0.5", "--trials", "1", "--max-new", "4", "--out", join(root, "book")]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/1 needle: accuracy/);
      expect(r.stdout).toMatch(/50%\s+[01]\.00/);
    },
    120_000,
  );

  it.skipIf(!existsSync(CLI))(
    'reads PG-19-style JSONL haystacks ({"text": …} per line)',
    async () => {
      const jsonl = join(root, "hay.jsonl");
      const docs = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Chapter ${i}. The lamps were lit early and the street was quiet again.` }));
      writeFileSync(jsonl, docs.join("\n") + "\n");
      const r = await evalNeedle([
        "--haystack",
        jsonl,
        "--lengths",
        "150",
        "--depths",
        "0.5",
        "--trials",
        "1",
        "--max-new",
        "4",
        "--out",
        join(root, "jsonl"),
        "--json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { records: unknown[] }).records).toHaveLength(1);
      writeFileSync(jsonl, '{"body": "no text field"}\n');
      const bad = await evalNeedle(["--haystack", jsonl, "--lengths", "150"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/hay\.jsonl: line 1: needs a string "text" field/);
    },
    60_000,
  );

  it.skipIf(!existsSync(CLI))(
    "asks per-length trial counts and a needle count only up to its length, and resumes after a kill where it stopped",
    async () => {
      const grid = [
        "--haystack",
        haystack,
        "--lengths",
        "128,200",
        "--depths",
        "0,0.5,1",
        "--needles",
        "1,2:128",
        "--trials",
        "2,200:1",
        "--max-new",
        "12",
        "--json",
      ];
      const whole = await evalNeedle([...grid, "--out", join(root, "whole")]);
      expect(whole.code, whole.stderr).toBe(0);
      const expected = NeedleEvalRecord.array().parse(JSON.parse(readFileSync(join(root, "whole", "needle.json"), "utf8")));
      // 1 needle at 128 and 200, 2 needles at 128 only; 2 trials at 128, 1 at 200.
      expect(expected.map((r) => `${r.needles}/${r.contextTokens}/${r.trials}`)).toEqual([
        ...Array(3).fill("1/128/2"),
        ...Array(3).fill("1/200/1"),
        ...Array(3).fill("2/128/2"),
      ]);

      const out = join(root, "killed");
      const journal = join(out, "needle.cells.jsonl");
      const child = spawn(process.execPath, [CLI, "eval", "needle", "--checkpoint", ckpt, ...grid, "--out", out], { stdio: "ignore" });
      const exited = new Promise((r) => child.on("exit", r));
      const linesIn = () => (existsSync(journal) ? readFileSync(journal, "utf8").split("\n").filter(Boolean).length : 0);
      while (linesIn() < 2) await sleep(50);
      child.kill("SIGKILL");
      await exited;
      const before = linesIn();
      expect(before).toBeGreaterThanOrEqual(2);
      expect(before).toBeLessThan(9);
      expect(existsSync(join(out, "needle.json"))).toBe(false); // nothing looks finished

      const resumed = await evalNeedle([...grid, "--out", out]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(`resuming: ${before} of 9 cells already done`);
      expect((JSON.parse(resumed.stdout) as { resumed: number }).resumed).toBe(before);
      const records = NeedleEvalRecord.array().parse(JSON.parse(readFileSync(join(out, "needle.json"), "utf8")));
      expect(records).toEqual(expected);
      expect(linesIn()).toBe(9);

      // Other settings into the same folder are refused, naming the journal.
      const other = await evalNeedle([...grid, "--seed", "5", "--out", out]);
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/needle\.cells\.jsonl: line 1 was run with other settings/);
    },
    240_000,
  );

  it.skipIf(!existsSync(CLI))(
    "exits 2 naming the problem for bad flags",
    async () => {
      expect((await evalNeedle(["--haystack", haystack, "--depths", "50"])).stderr).toMatch(
        /--depths: expected a comma-separated list of fractions in \[0, 1\]/,
      );
      expect((await evalNeedle(["--haystack", haystack, "--trials", "2,x:3"])).stderr).toMatch(/--trials: expected LEN:N with a positive length, got "x"/);
      expect((await evalNeedle(["--haystack", haystack, "--template", "magic"])).stderr).toMatch(/--template: expected one of lwm, recall/);
      expect((await evalNeedle(["--haystack", join(root, "missing.txt")])).code).toBe(2);
      const short = await evalNeedle(["--haystack", haystack, "--lengths", "20"]);
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/shorter than the prompt template/);
      expect((await lwm(["eval", "bleu"])).code).toBe(2);
    },
    60_000,
  );
});
