/**
 * The report page from real shards (the trainer's synthetic-stage writer, @lwm/shards' writer and
 * validator) plus step reports, rejects, a metrics log and a needle grid written as the pipeline
 * writes them — with hostile names and text everywhere a string from the data lands.
 */
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RejectRecord } from "@lwm/core";
import { EXAMPLES_FORMAT, type NeedleEvalRecord, type QaRecord } from "@lwm/schemas";
import { ExamplesWriter, writeExamplesIndex } from "@lwm/shards";
import type { MetricsRecord } from "@lwm/trainer";
import { writeSyntheticStage } from "@lwm/trainer/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport, MAX_REPORT_BYTES } from "./report.js";
import { REJECT_EXAMPLES } from "./gather/steps.js";

const HOSTILE = `<script>alert("x")</script>'"&`;
/** A folder name may hold anything but a slash. */
const HOSTILE_STAGE = `q"'><img src=x onerror=alert(1)>`;

let root: string;

function stepReport(step: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    step,
    version: "1.0.0",
    slice: null,
    ok: true,
    units: { planned: 3, selected: 3, executed: 3, skipped: 0, failed: 0 },
    failures: [],
    inputs: { files: 2, bytes: 2048 },
    outputs: [{ path: `${HOSTILE}.arrow`, bytes: 10, sha256: "a".repeat(64) }],
    rejects: { total: 0, byReason: {}, file: "rejects.jsonl" },
    metrics: { total: { documents: 7 }, executed: { documents: 7 } },
    timeMs: 1500,
    cpuMs: { user: 1000, system: 200 },
    throughput: { documentsPerSecond: 4.67 },
    threads: { total: 2, workers: 2 },
    finalized: true,
    details: {},
    ...over,
  };
}

async function writeStep(out: string, step: string, report: Record<string, unknown> | null, rejects: RejectRecord[] = []): Promise<void> {
  const dir = join(out, "work", step);
  await mkdir(dir, { recursive: true });
  if (report) await writeFile(join(dir, "report.json"), JSON.stringify(report));
  await writeFile(join(dir, "rejects.jsonl"), rejects.map((r) => JSON.stringify(r) + "\n").join(""));
}

function metrics(stage: string): MetricsRecord[] {
  const stageRec: MetricsRecord = {
    kind: "stage",
    stage,
    kindOfStage: "text",
    seqLen: 32,
    ropeTheta: 1e4,
    steps: 4,
    batchRows: 2,
    trainRows: 10,
    evalRows: 2,
    initFrom: "random",
    initSha256: "0".repeat(64),
    startStep: 0,
  };
  const steps = [1, 2, 3, 4].map((s): MetricsRecord => ({
    kind: "step",
    stage,
    stageStep: s,
    step: s,
    loss: 4 - 0.5 * s,
    textLoss: 4 - 0.5 * s,
    visionLoss: 0,
    textAccuracy: 0.1 * s,
    visionAccuracy: null,
    lr: 1e-3,
    gradNorm: 1,
    examples: 4,
    stageTokens: 64 * s,
    totalTokens: 64 * s,
    tokensPerSecond: 1234,
    modelGflops: 5.5,
    seconds: 0.1,
    engineSeconds: 0.09,
  }));
  const ev: MetricsRecord = {
    kind: "eval",
    stage,
    stageStep: 4,
    step: 4,
    evalLoss: 2.25,
    evalTextLoss: 2.25,
    evalVisionLoss: 0,
    evalTextAccuracy: 0.4,
    evalVisionAccuracy: null,
    rows: 2,
    examples: 5,
  };
  return [stageRec, ...steps, ev];
}

/**
 * A finished qa step as pipelines/qa leaves it: report.json with its generator's accounting, one
 * generate unit's qa.jsonl, and a published stage of examples whose provenance names the QA ids.
 */
async function writeQaStep(out: string): Promise<void> {
  const generator = {
    kind: "openai" as const,
    model: `gen-${HOSTILE}`,
    baseUrl: "http://127.0.0.1:8000/v1",
    promptVersion: "lwm-qa-prompt/1",
    sampling: { mode: "greedy" as const, maxNewTokens: 384 },
  };
  const records: QaRecord[] = [0, 1, 2].map((i) => ({
    qaId: `${i}`.repeat(32),
    documentId: "d".repeat(32),
    chunkId: `${"d".repeat(32)}-c${i}`,
    pairIndex: 0,
    question: `Who carried the lamp ${i}? ${HOSTILE}`,
    answer: `Ishmael ${i}`,
    evidence: `Ishmael ${i} carried the lamp <b>down</b>.`,
    generator,
  }));
  await mkdir(join(out, "work/qa/units/k1"), { recursive: true });
  await writeFile(join(out, "work/qa/units/k1/qa.jsonl"), records.map((r) => JSON.stringify(r) + "\n").join(""));
  const stageDir = join(out, "work/qa/examples/s32");
  await mkdir(stageDir, { recursive: true });
  const writer = new ExamplesWriter(join(stageDir, "part-00000.arrow"), { tokenDtype: "uint16" });
  for (const [k, qaIds] of [[records[0]!.qaId, records[1]!.qaId], [records[2]!.qaId]].entries()) {
    writer.append({
      exampleId: `${k + 7}`.repeat(32),
      task: "qa-chat",
      source: "qa",
      documentId: "d".repeat(32),
      tokens: Uint16Array.of(1, 100, 101, 2),
      vision: new Uint8Array(4),
      loss: Uint8Array.of(0, 0, 1, 1),
      provenance: { kind: "qa", chunkIds: records.map((r) => r.chunkId), document: "d".repeat(32), book: `${HOSTILE}.txt`, qaIds, model: generator.model },
    });
  }
  const file = (await writer.close())!;
  await writeExamplesIndex(stageDir, {
    format: EXAMPLES_FORMAT,
    step: "qa",
    stepVersion: "1.0.0",
    stage: "s32",
    seqLen: 32,
    tokenDtype: "uint16",
    tokenizerSha256: "e".repeat(64),
    vqganSha256: null,
    sources: ["qa"],
    examples: 2,
    tokens: 8,
    parts: [{ file: "part-00000.arrow", source: "qa", examples: 2, tokens: 8, lossTokens: 4, bytes: file.bytes, sha256: file.sha256 }],
  });
  await writeStep(
    out,
    "qa",
    stepReport("qa", {
      metrics: { total: { documents: 1, chunks: 3, pairsAsked: 6, pairsAccepted: 3, pairsRejected: 3, examples: 2 }, executed: {} },
      rejects: { total: 3, byReason: { unsupported: 2, [`malformed ${HOSTILE}`]: 1 }, file: "rejects.jsonl" },
      details: {
        stages: { s32: { examples: 2, tokens: 8, lossTokens: 4, parts: 1 } },
        sources: {
          qa: {
            generator,
            chunkTokens: 1000,
            qaPerChunk: 2,
            questionsPerExample: 2,
            counters: {
              requests: 5,
              completions: 3,
              cacheHits: 1,
              retries: 2,
              rateLimited: 1,
              timeouts: 1,
              promptTokens: 4321,
              completionTokens: 654,
              unanswered: 0,
            },
          },
        },
      },
    }),
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lwm-report-"));
  // A complete dataset: two stages, both steps, rejects, one run with a needle grid.
  const out = join(root, "full");
  await writeSyntheticStage(out, { stage: "s32", seqLen: 32, rows: 12, shards: 2, seed: 1 });
  await writeSyntheticStage(out, { stage: HOSTILE_STAGE, seqLen: 64, rows: 5, seed: 2 });
  await writeStep(out, "books", stepReport("books", { details: { stages: { s32: {} } } }), [
    ...Array.from({ length: 5 }, (_, i): RejectRecord => ({ source: `${HOSTILE}-${i}.txt`, position: { line: i }, reason: `invalid UTF-8 at byte ${i}` })),
    { source: "books/b.jsonl", position: { line: 9, bytes: { start: 5, end: 9 } }, reason: `missing field "text": see https://example.invalid/${HOSTILE}` },
  ]);
  await writeQaStep(out);
  await writeStep(out, "pack", stepReport("pack"));
  const run = join(out, "runs", "tiny");
  await mkdir(join(run, "checkpoints", "s32", "final-needle"), { recursive: true });
  await writeFile(
    join(run, "metrics.jsonl"),
    metrics(HOSTILE)
      .map((r) => JSON.stringify(r) + "\n")
      .join(""),
  );
  const cell = (contextTokens: number, depth: number, correct: number): NeedleEvalRecord => ({
    formatVersion: 1,
    checkpoint: HOSTILE,
    contextTokens,
    depth,
    needles: 1,
    trials: 2,
    correct,
    accuracy: correct / 2,
  });
  await writeFile(
    join(run, "checkpoints", "s32", "final-needle", "needle.json"),
    JSON.stringify([cell(128, 0, 2), cell(128, 1, 1), cell(256, 0, 0), cell(256, 1, 2)]),
  );

  // A failed, partial dataset: books ran and named two stages, pack failed, one stage's shard is corrupt.
  const partial = join(root, "partial");
  await writeSyntheticStage(partial, { stage: "s32", seqLen: 32, rows: 6, seed: 3 });
  await writeSyntheticStage(partial, { stage: "vl", seqLen: 32, rows: 4, seed: 4, vision: true });
  const fh = await open(join(partial, "s32", "shard-00000.arrow"), "r+");
  await fh.write(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 900);
  await fh.close();
  await writeStep(partial, "books", stepReport("books", { details: { stages: { s32: {}, s64: {} } } }));
  await writeStep(
    partial,
    "pack",
    stepReport("pack", {
      ok: false,
      units: { planned: 2, selected: 2, executed: 1, skipped: 0, failed: 1 },
      failures: [{ unit: "s64", error: `disk full ${HOSTILE}` }],
      finalized: false,
    }),
  );
  await writeStep(partial, "qa", null);
}, 60_000);

afterAll(() => rm(root, { recursive: true, force: true }));

/** Every attribute value of every tag (quoted or not). */
function attributeValues(page: string): string[] {
  const values: string[] = [];
  for (const tag of page.match(/<[a-zA-Z][^>]*>/g) ?? [])
    for (const m of tag.matchAll(/\s[\w:-]+\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)) values.push(m[2] ?? m[3] ?? m[4] ?? "");
  return values;
}

describe("buildReport on a complete dataset", () => {
  let page: string;
  let result: Awaited<ReturnType<typeof buildReport>>;
  beforeAll(async () => {
    result = await buildReport({ outDir: join(root, "full") });
    page = result.html;
  }, 60_000);

  it("is one self-contained page: CSP meta, no script, no URL in any attribute, no external reference", () => {
    expect(page).toMatch(
      /^<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:; style-src &#39;unsafe-inline&#39;">/,
    );
    expect(page).not.toMatch(/<script|<iframe|<link|<object|<embed|url\(|@import/i);
    for (const v of attributeValues(page)) expect(v).not.toMatch(/^\s*(https?:|\/\/|javascript:)/i);
    // The URLs in the data (a reject reason, the QA generator's base URL) show only as escaped text.
    expect(page.match(/https?:/g)).toHaveLength(2);
    expect(page).toContain("see https://example.invalid/&lt;script&gt;");
    expect(result.bytes).toBeLessThan(MAX_REPORT_BYTES);
  });

  it("escapes every string from the data: file names, stage names, reasons, metrics, needle checkpoints", () => {
    expect(page).not.toContain(HOSTILE);
    expect(page).not.toContain(HOSTILE_STAGE);
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&amp;-0.txt");
    expect(page).toContain("q&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;");
  });

  it("shows each stage's manifest numbers, charts with data, and the validator's verdict per shard", () => {
    expect(page).toContain('<td class="n">12</td>'); // s32 rows
    expect(page).toContain("shard-00001.arrow");
    expect(page.match(/<td class="ok">valid<\/td>/g)).toHaveLength(3); // 2 + 1 shards
    expect(page).toMatch(/aria-label="segment-length histogram of stage s32"/);
    expect(page).toMatch(/aria-label="mixture asked vs achieved of stage s32"/);
    expect(page).toMatch(/aria-label="modality mix of stage q&quot;/);
    expect(result.sections.find((s) => s.id === "vision")!.why).toMatch(/no vision stages/);
  });

  it("lists rejects by reason with at most a few examples each", () => {
    expect(page).toContain("<h4>Rejects: 6</h4>");
    expect(page).toMatch(/<td>invalid UTF-8<\/td><td class="n">5<\/td>/);
    expect(page.match(/invalid UTF-8 at byte \d/g)).toHaveLength(REJECT_EXAMPLES);
  });

  it("samples rows with each segment's provenance and text (token ids when the tokenizer is not the shards')", () => {
    expect(page).toContain("Stage s32, row 0");
    expect(page).toContain("Stage s32, row 11");
    expect(page).toContain("text-file synthetic.txt bytes [0,");
    expect(page).toMatch(/token ids shown for stage s32/);
  });

  it("shows the QA step: generator, accounting, rejects by reason, and the sampled pairs with their evidence and chunks, escaped", () => {
    const qa = page.slice(page.indexOf('<section id="section-qa">'), page.indexOf('<section id="section-training">'));
    expect(result.sections.find((s) => s.id === "qa")!.present).toBe(true);
    expect(qa).toContain("6 pairs asked, 3 accepted (50.0%), 3 rejected");
    expect(qa).toContain(
      '<tr><th>requests</th><td class="n">5</td></tr><tr><th>completions</th><td class="n">3</td></tr><tr><th>cacheHits</th><td class="n">1</td></tr><tr><th>retries</th><td class="n">2</td></tr>',
    );
    expect(qa).toContain('<tr><th>promptTokens</th><td class="n">4,321</td></tr>');
    expect(qa).toContain('<tr><td>unsupported</td><td class="n">2</td></tr>');
    expect(qa).toContain("malformed &lt;script&gt;");
    expect(qa).toContain("<code>lwm-qa-prompt/1</code>");
    expect(qa).toContain("<code>http://127.0.0.1:8000/v1</code>");
    expect(qa).toContain("{&quot;maxNewTokens&quot;:384,&quot;mode&quot;:&quot;greedy&quot;}");
    // all three pairs of the two examples, escaped, with evidence and chunk ids
    for (const i of [0, 1, 2]) {
      expect(qa).toContain(`<td>Who carried the lamp ${i}? &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&amp;</td><td>Ishmael ${i}</td>`);
      expect(qa).toContain(`Ishmael ${i} carried the lamp &lt;b&gt;down&lt;/b&gt;.`);
      expect(qa).toContain(`chunk <code>${"d".repeat(32)}-c${i}</code>`);
    }
    expect(qa).not.toContain("<b>down</b>");
  });

  it("shows the run found under runs/: loss curve, eval losses, throughput and the needle heat map", () => {
    expect(page).toContain("Run tiny");
    expect(page.match(/<polyline/g)).toHaveLength(1);
    expect(page).toContain("<td>1234</td><td>5.50</td>");
    expect(page).toMatch(/<td class="n">2\.2500<\/td>/);
    expect(page).toContain("checkpoints/s32/final-needle/needle.json");
    expect(page).toMatch(/aria-label="1-needle accuracy"/);
    expect(page).toContain("4 cells, mean accuracy 0.625");
    expect(result.problems).toEqual([]);
  });
});

describe("buildReport on a partial, failed dataset", () => {
  it("says what is missing and wrong instead of failing: unpublished stage, failed step, corrupt shard, unfinished step", async () => {
    const r = await buildReport({ outDir: join(root, "partial") });
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/stage s64: no folder .* the pack step has not published it/),
        expect.stringMatching(/step pack FAILED: 1 unit\(s\) failed, first: s64: disk full/),
        expect.stringMatching(/stage s32: lwm validate found \d+ error/),
        expect.stringMatching(/step qa: no report.json/),
      ]),
    );
    expect(r.html).toContain('<td class="bad">');
    expect(r.html).toContain("Validator errors");
    expect(r.html).not.toContain(HOSTILE);
    // The vision stage is found, and the page says why there are no contact sheets.
    expect(r.sections.find((s) => s.id === "vision")!.why).toMatch(
      /stages vl hold vision tokens; give the VQ model that decodes them \(lwm report --vqgan DIR/,
    );
    expect(r.html).toMatch(/\[vision 1: \d+ frames?\]/);
    expect(r.sections.find((s) => s.id === "qa")!.why).toMatch(/work\/qa\/ has no report.json: the qa step has not finished/);
    expect(r.sections.find((s) => s.id === "training")!.why).toMatch(/no run folders/);
  }, 60_000);

  it("with validate: false, says the shards were not validated", async () => {
    const r = await buildReport({ outDir: join(root, "partial"), validate: false });
    expect(r.html).toContain("Shards were not validated (<code>--no-validate</code>)");
    expect(r.html).toContain('<td class="muted">not run</td>');
    expect(r.problems.some((p) => /lwm validate found/.test(p))).toBe(false);
  }, 60_000);

  it("an empty folder gives a page of absent sections; a missing one is an error naming it", async () => {
    const empty = join(root, "empty");
    await mkdir(empty, { recursive: true });
    const r = await buildReport({ outDir: empty, runs: [join(root, "full", "runs", "tiny")] });
    expect(r.sections.filter((s) => s.present).map((s) => s.id)).toEqual(["training"]);
    expect(r.html).toContain("Absent: no stage folders");
    await expect(buildReport({ outDir: join(root, "nope") })).rejects.toThrow(/nope: not a folder/);
  }, 60_000);

  it("a run folder given with --runs that is not a run says so", async () => {
    const r = await buildReport({ outDir: join(root, "full"), runs: [join(root, "partial")], validate: false });
    expect(r.problems).toEqual(expect.arrayContaining([expect.stringMatching(/partial: no metrics\.jsonl/)]));
    expect(await readFile(join(root, "full", "runs", "tiny", "metrics.jsonl"), "utf8")).toContain('"kind":"eval"');
  }, 60_000);
});
