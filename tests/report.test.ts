/**
 * `lwm report` end to end, as a user gets there: the bundled sample through `lwm run`, a tiny
 * `lwm train` on its 2k stage and `lwm eval needle` on the checkpoint, then `lwm report out`. The
 * page is checked as HTML always, and in a real browser (Debian's chromium through playwright-core)
 * when /usr/bin/chromium is there: no console errors, no network request, the manifest's numbers
 * on the page, every chart an SVG with marks, a screenshot that is not blank.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Manifest, QaRecord } from "@lwm/schemas";
import { readStageExamples } from "@lwm/shards";
import { escapeHtml } from "@lwm/trainer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, hasChromium, withPageInChromium } from "./chromium.js";
import { decodePng, luminanceVariance } from "./png.js";
import { CLI, lwmQuiet } from "./cli.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SAMPLE = join(repoRoot, "datasets/sample");
if (!hasChromium) console.warn(`skipped: the browser test of lwm report needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);

/** The QA records the qa step's first 8k example asks, from work/qa (what the report's QA section shows first). */
async function firstQaPairs(outDir: string): Promise<{ pairs: QaRecord[] }> {
  for await (const e of readStageExamples(join(outDir, "work/qa/examples/8k"))) {
    if (e.provenance.kind !== "qa") continue;
    const units = join(outDir, "work/qa/units");
    const records = readdirSync(units)
      .flatMap((u) =>
        existsSync(join(units, u, "qa.jsonl"))
          ? readFileSync(join(units, u, "qa.jsonl"), "utf8")
              .split("\n")
              .filter(Boolean)
          : [],
      )
      .map((line) => QaRecord.parse(JSON.parse(line)));
    return { pairs: e.provenance.qaIds.map((id) => records.find((r) => r.qaId === id)).filter((r): r is QaRecord => r !== undefined) };
  }
  return { pairs: [] };
}

let root: string;
let out: string;
let report: string;
let stdout: { run: string; train: string; report: string };

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync(join(tmpdir(), "lwm-report-e2e-"));
  out = join(root, "out");
  const run = await lwmQuiet(["run", join(SAMPLE, "recipe.json"), "--out", out, "--threads", "2"]);
  expect(run.code, run.stderr).toBe(0);
  // The sample recipe, trained for three steps of its 2k stage: enough for a curve, an eval loss and a checkpoint.
  const recipe = JSON.parse(readFileSync(join(SAMPLE, "recipe.json"), "utf8")) as {
    vqgan: string;
    sources: { paths: string[] }[];
    stages: { training: unknown }[];
  };
  recipe.sources[0]!.paths = [join(SAMPLE, "books")];
  recipe.vqgan = join(SAMPLE, recipe.vqgan);
  recipe.stages[0]!.training = { steps: 3, tokensPerBatch: 2048, evalRows: 2, lr: { peak: 1e-3 } };
  writeFileSync(join(root, "recipe.json"), JSON.stringify(recipe));
  const train = await lwmQuiet(["train", join(root, "recipe.json"), "--data", out, "--stages", "2k"]);
  expect(train.code, train.stderr).toBe(0);
  const needle = await lwmQuiet([
    "eval",
    "needle",
    "--checkpoint",
    join(out, "runs/sample/checkpoints/2k/final"),
    "--haystack",
    join(SAMPLE, "books/the-orchard-ledger.txt"),
    "--lengths",
    "256",
    "--depths",
    "0,1",
    "--trials",
    "1",
    "--max-new",
    "4",
  ]);
  expect(needle.code, needle.stderr).toBe(0);
  // As lwm run says to make it: with the recipe, whose VQ model draws the vision contact sheets.
  const made = await lwmQuiet(["report", out, "--recipe", join(SAMPLE, "recipe.json")]);
  expect(made.code, made.stderr).toBe(0);
  report = join(out, "report.html");
  stdout = { run: run.stdout, train: train.stdout, report: made.stdout };
}, 240_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lwm report on the sample dataset and a sample training run", () => {
  it("lwm run and lwm train say how to make the report; lwm report says where it wrote it and what is absent", () => {
    expect(stdout.run).toContain(`report: lwm report ${out} --recipe ${join(SAMPLE, "recipe.json")} writes ${join(out, "report.html")}`);
    expect(stdout.train).toContain(`report: lwm report ${out} --recipe ${join(root, "recipe.json")} writes ${join(out, "report.html")}`);
    expect(stdout.report).toMatch(new RegExp(`^wrote ${report.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(\\d+ KiB\\)`));
    expect(stdout.report).not.toContain("absent: Vision");
    expect(stdout.report).not.toContain("problem:");
  });

  it("writes one self-contained page under 5 MB with each stage's manifest numbers, the validator's verdict, the run and its needle grid", () => {
    const page = readFileSync(report, "utf8");
    expect(Buffer.byteLength(page)).toBeLessThan(5 * 1024 * 1024);
    expect(page).not.toMatch(/<script|https?:\/\//i);
    expect(page).toContain("Content-Security-Policy");
    let shards = 0;
    for (const stage of ["2k", "8k", "vl"]) {
      const m = Manifest.parse(JSON.parse(readFileSync(join(out, stage, "manifest.json"), "utf8")));
      expect(page).toContain(
        `<td class="n">${m.totals.rows.toLocaleString("en-US")}</td><td class="n">${m.totals.tokens.toLocaleString("en-US")}</td><td class="n">${(100 * m.totals.fill).toFixed(1)}%</td>`,
      );
      for (const s of m.shards) expect(page).toContain(s.sha256.slice(0, 12));
      shards += m.shards.length;
    }
    expect(page.match(/<td class="ok">valid<\/td>/g)).toHaveLength(shards);
    expect(page).toContain("Run sample");
    expect(page).toContain("checkpoints/2k/final-needle/needle.json");
    // Lineage: the sampled rows name their source file and range (which book depends on the rows sampled).
    expect(page).toMatch(/(text-file books\/[\w.-]+ bytes \[|jsonl books\/[\w.-]+ line \d+)/);
  });

  it("shows the sample's QA: the extractive generator's accounting and the pairs of its 8k examples with their evidence", async () => {
    const page = readFileSync(report, "utf8");
    const qa = page.slice(page.indexOf('<section id="section-qa">'), page.indexOf('<section id="section-training">'));
    const { pairs } = await firstQaPairs(out);
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(qa).toContain(`<td>${escapeHtml(p.question)}</td><td>${escapeHtml(p.answer)}</td>`);
      expect(qa).toContain(escapeHtml(p.evidence));
      expect(qa).toContain(`chunk <code>${p.chunkId}</code>`);
    }
    const step = JSON.parse(readFileSync(join(out, "work/qa/report.json"), "utf8")) as { metrics: { total: Record<string, number> } };
    const { pairsAsked, pairsAccepted } = step.metrics.total as { pairsAsked: number; pairsAccepted: number };
    expect(qa).toContain(`${pairsAsked.toLocaleString("en-US")} pairs asked, ${pairsAccepted.toLocaleString("en-US")} accepted`);
    expect(qa).toContain("<td>extractive</td>");
    expect(qa).toMatch(/<tr><th>chunks<\/th><td class="n">[\d,]+<\/td><\/tr>/);
  });

  it("--no-validate, --out and --json: the page says it did not validate; exit 2 naming a missing folder", async () => {
    const other = join(root, "other.html");
    const r = await lwmQuiet(["report", out, "--no-validate", "--out", other, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { report: string; bytes: number; sections: { id: string; present: boolean }[] };
    expect(printed.report).toBe(other);
    expect(printed.sections.filter((s) => s.present).map((s) => s.id)).toEqual(["stages", "steps", "lineage", "qa", "training"]);
    expect(readFileSync(other, "utf8")).toContain("Shards were not validated");
    const missing = await lwmQuiet(["report", join(root, "nowhere")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nowhere: not a folder/);
  }, 60_000);

  it.skipIf(!hasChromium)(
    "opens in chromium with no console error and no network request, the numbers visible, every chart drawn, not blank",
    async () => {
      await withPageInChromium(report, async ({ page, url, errors, requests }) => {
        expect(errors).toEqual([]);
        expect(requests).toEqual([url]);

        const text = await page.locator("body").innerText();
        // The QA section: the first example's question and answer, as text (not markup).
        const qaText = await page.locator("#section-qa").innerText();
        const { pairs } = await firstQaPairs(out);
        for (const p of pairs) expect(qaText).toContain(`${p.question}\t${p.answer}`);
        expect(await page.locator("#section-qa table.qa-pairs tr").count()).toBeGreaterThan(pairs.length); // a header row, then the pairs
        const m2k = Manifest.parse(JSON.parse(readFileSync(join(out, "2k", "manifest.json"), "utf8")));
        expect(text).toContain(m2k.totals.tokens.toLocaleString("en-US"));
        expect(text).toContain(`${(100 * m2k.totals.fill).toFixed(1)}%`);
        const charts = await page.locator("svg").evaluateAll((svgs) =>
          svgs.map((s) => ({
            label: s.getAttribute("aria-label") ?? "",
            marks: s.querySelectorAll("rect, polyline, circle").length,
            height: s.getBoundingClientRect().height,
          })),
        );
        // Per stage (2k, 8k, vl): segment lengths, modality, mixture; the loss curve; one needle heat map.
        expect(charts.length).toBe(3 * 3 + 2);
        for (const c of charts) {
          expect(c.marks, c.label).toBeGreaterThan(0);
          expect(c.height, c.label).toBeGreaterThan(20);
        }
        expect(charts.map((c) => c.label)).toEqual(expect.arrayContaining(["loss curve", "1-needle accuracy", "mixture asked vs achieved of stage 2k"]));
        const shot = decodePng(await page.screenshot({ fullPage: false }));
        expect(shot.width).toBe(1200);
        expect(luminanceVariance(shot)).toBeGreaterThan(100);
      });
    },
    120_000,
  );
});
