/**
 * The synthetic-QA section: what the qa step asked its generator and what came back. From
 * work/qa/report.json: the generator of each QA source (kind, model, base URL, prompt version,
 * sampling) with its accounting (requests, tokens, retries, cache hits, failures), the pairs asked,
 * accepted and rejected by reason, and the examples per stage. From the published examples
 * (work/qa/examples/<stage>/) and the generate units' qa.jsonl: a few QA pairs as a trainer sees
 * them (question, answer, evidence) with the chunks and book they came from.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stableStringify, STEP_FILES, type JsonValue } from "@lwm/core";
import { formatZodError, QaRecord } from "@lwm/schemas";
import { readStageExamples } from "@lwm/shards";
import { z } from "zod";
import { exists } from "./gather/discover.js";
import { int, pct } from "./render/format.js";
import { html, type Html } from "./render/html.js";
import { absent, present, type Section } from "./section.js";

/** QA pairs shown, and examples read per stage to find them. */
export const QA_PAIRS_SHOWN = 5;
const EXAMPLES_PER_STAGE = 2;

const Counts = z.record(z.string(), z.number());

/** The parts of the qa step's report.json this section shows (its `details` as pipelines/qa writes them). */
const QaReportView = z.object({
  ok: z.boolean(),
  rejects: z.object({ total: z.number(), byReason: Counts }),
  metrics: z.object({ total: Counts }),
  details: z
    .object({
      stages: z.record(z.string(), z.object({ examples: z.number(), tokens: z.number(), lossTokens: z.number() })),
      sources: z.record(
        z.string(),
        z.object({
          generator: QaRecord.shape.generator,
          chunkTokens: z.number(),
          qaPerChunk: z.number(),
          questionsPerExample: z.number(),
          counters: Counts,
        }),
      ),
    })
    .nullable(),
});
type QaReportView = z.infer<typeof QaReportView>;
type QaSourceView = NonNullable<QaReportView["details"]>["sources"][string];

export interface QaShown {
  stage: string;
  exampleId: string;
  book: string | null;
  document: string;
  /** The chunks of the example's context, in order. */
  chunkIds: string[];
  record: QaRecord;
}

export interface QaData {
  ok: boolean;
  /** Step totals: documents, chunks, pairsAsked, pairsAccepted, pairsRejected, examples … */
  totals: Record<string, number>;
  rejects: { total: number; byReason: Record<string, number> };
  sources: { name: string; view: QaSourceView }[];
  stages: { name: string; examples: number; tokens: number; lossTokens: number }[];
  shown: QaShown[];
}

/** The first few QA pairs of the first examples of each stage, with the examples they sit in. */
async function sampledPairs(qaDir: string, stages: readonly string[], problems: string[]): Promise<QaShown[]> {
  const wanted: Omit<QaShown, "record">[] = [];
  const ids: string[] = [];
  for (const stage of stages) {
    let read = 0;
    for await (const e of readStageExamples(join(qaDir, "examples", stage))) {
      if (read++ >= EXAMPLES_PER_STAGE || ids.length >= QA_PAIRS_SHOWN) break;
      const p = e.provenance;
      if (p.kind !== "qa") continue;
      for (const qaId of p.qaIds.slice(0, QA_PAIRS_SHOWN - ids.length)) {
        ids.push(qaId);
        wanted.push({ stage, exampleId: e.exampleId, book: p.book ?? null, document: p.document, chunkIds: p.chunkIds });
      }
    }
  }
  const found = await qaRecordsById(join(qaDir, "units"), new Set(ids), problems);
  const shown: QaShown[] = [];
  ids.forEach((id, i) => {
    const record = found.get(id);
    if (record) shown.push({ ...(wanted[i] as Omit<QaShown, "record">), record });
    else problems.push(`QA record ${id} (named by example ${wanted[i]?.exampleId} of stage ${wanted[i]?.stage}) is in no work/qa/units/*/qa.jsonl`);
  });
  return shown;
}

/** Reads the generate units' qa.jsonl files until every wanted id is found. */
async function qaRecordsById(unitsDir: string, wanted: ReadonlySet<string>, problems: string[]): Promise<Map<string, QaRecord>> {
  const found = new Map<string, QaRecord>();
  if (wanted.size === 0 || !(await exists(unitsDir))) return found;
  for (const unit of (await readdir(unitsDir)).sort()) {
    const path = join(unitsDir, unit, "qa.jsonl");
    if (!(await exists(path))) continue;
    let lineNo = 0;
    for await (const line of createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === "") continue;
      let parsed;
      try {
        parsed = QaRecord.safeParse(JSON.parse(line));
      } catch (err) {
        problems.push(`${path}: line ${lineNo} is not JSON (${(err as Error).message})`);
        break;
      }
      if (!parsed.success) {
        problems.push(formatZodError(parsed.error, `${path}: line ${lineNo}`));
        break;
      }
      if (wanted.has(parsed.data.qaId)) found.set(parsed.data.qaId, parsed.data);
      if (found.size === wanted.size) return found;
    }
  }
  return found;
}

export const qaSection: Section<QaData> = {
  id: "qa",
  title: "Synthetic QA",
  async gather(ctx) {
    const qaDir = join(ctx.files.outDir, "work", "qa");
    if (!(await exists(qaDir))) return absent("this dataset has no QA step (no work/qa/)");
    const reportPath = join(qaDir, STEP_FILES.report);
    if (!(await exists(reportPath))) return absent("work/qa/ has no report.json: the qa step has not finished (see Pipeline steps)");
    const parsed = QaReportView.safeParse(JSON.parse(await readFile(reportPath, "utf8")));
    if (!parsed.success) throw new Error(formatZodError(parsed.error, reportPath));
    const r = parsed.data;
    const problems: string[] = [];
    if (!r.ok) problems.push("the qa step FAILED: its accounting below is of the units that ran");
    const stages = Object.entries(r.details?.stages ?? {}).map(([name, s]) => ({ name, ...s }));
    return present(
      {
        ok: r.ok,
        totals: r.metrics.total,
        rejects: r.rejects,
        sources: Object.entries(r.details?.sources ?? {}).map(([name, view]) => ({ name, view })),
        stages,
        shown: await sampledPairs(
          qaDir,
          stages.map((s) => s.name),
          problems,
        ),
      },
      problems,
    );
  },
  render: renderQa,
};

/** Counters in the order a reader asks about them; any others follow by name. */
const COUNTER_ORDER = [
  "requests",
  "completions",
  "cacheHits",
  "retries",
  "rateLimited",
  "serverErrors",
  "timeouts",
  "connectionErrors",
  "badBodies",
  "refused",
  "unanswered",
  "promptTokens",
  "completionTokens",
  "chunks",
  "prefillMs",
  "decodeMs",
];

function counters(c: Record<string, number>): Html {
  const names = Object.keys(c).sort((a, b) => {
    const i = COUNTER_ORDER.indexOf(a);
    const j = COUNTER_ORDER.indexOf(b);
    return (i < 0 ? COUNTER_ORDER.length : i) - (j < 0 ? COUNTER_ORDER.length : j) || a.localeCompare(b);
  });
  return html`<table class="qa-counters">${names.map((k) => html`<tr><th>${k}</th><td class="n">${int(c[k] as number)}</td></tr>`)}</table>`;
}

function source({ name, view }: { name: string; view: QaSourceView }): Html {
  const g = view.generator;
  return html`<h3>Source ${name}</h3>
<table>
<tr><th>generator</th><td>${g.kind}</td></tr>
<tr><th>model</th><td><code>${g.model}</code></td></tr>
<tr><th>base URL</th><td>${g.baseUrl === null ? html`<span class="muted">none</span>` : html`<code>${g.baseUrl}</code>`}</td></tr>
<tr><th>prompt version</th><td><code>${g.promptVersion}</code></td></tr>
<tr><th>judge</th><td>${g.judge === undefined ? html`<span class="muted">off</span>` : html`the same model, prompt <code>${g.judge}</code>`}</td></tr>
<tr><th>sampling</th><td><code>${g.sampling === null ? "none (deterministic rule)" : stableStringify(g.sampling as unknown as JsonValue)}</code></td></tr>
<tr><th>chunks</th><td>${int(view.chunkTokens)} tokens; ${view.qaPerChunk} pair(s) asked per chunk; ${view.questionsPerExample} question(s) per example</td></tr>
</table>
<h4>Generator accounting (this run)</h4>${counters(view.counters)}`;
}

function pairs(d: QaData): Html {
  const asked = d.totals.pairsAsked ?? 0;
  const accepted = d.totals.pairsAccepted ?? 0;
  const reasons = Object.entries(d.rejects.byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return html`<p>${int(d.totals.documents ?? 0)} documents cut into ${int(d.totals.chunks ?? 0)} chunks; ${int(asked)} pairs asked, ${int(accepted)} accepted${asked > 0 ? ` (${pct(accepted / asked)})` : ""}, ${int(d.totals.pairsRejected ?? 0)} rejected.</p>
${reasons.length === 0 ? html`<p>No rejects.</p>` : html`<table><tr><th>reject reason</th><th>count</th></tr>${reasons.map(([reason, n]) => html`<tr><td>${reason}</td><td class="n">${int(n)}</td></tr>`)}</table>`}
${d.stages.length === 0 ? "" : html`<table><tr><th>stage</th><th>examples</th><th>tokens</th><th>loss tokens</th></tr>${d.stages.map((s) => html`<tr><td>${s.name}</td><td class="n">${int(s.examples)}</td><td class="n">${int(s.tokens)}</td><td class="n">${int(s.lossTokens)}</td></tr>`)}</table>`}`;
}

function shown(list: readonly QaShown[]): Html {
  if (list.length === 0) return html`<p class="muted">No QA example to show.</p>`;
  const rows = list.map(
    (s) =>
      html`<tr><td>${s.record.question}</td><td>${s.record.answer}</td><td><div class="text">${s.record.evidence}</div></td><td>chunk <code>${s.record.chunkId}</code> of ${s.book === null ? html`document <code>${s.document}</code>` : html`<code>${s.book}</code>`}<br><span class="muted">stage ${s.stage}, example ${s.exampleId}, context chunks ${s.chunkIds.join(", ")}; ${s.record.generator.kind} <code>${s.record.generator.model}</code></span></td></tr>`,
  );
  return html`<h3>QA pairs as trained</h3><table class="qa-pairs"><tr><th>question</th><th>answer</th><th>evidence</th><th>from</th></tr>${rows}</table>`;
}

export function renderQa(d: QaData): Html {
  return html`${pairs(d)}${d.sources.map(source)}${shown(d.shown)}`;
}
