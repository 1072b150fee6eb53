/**
 * `buildReport`: finds what an output root holds, gathers every section, and lays the page out:
 * a status box (what is missing or wrong), a table of contents, then the sections in order.
 */
import { resolve } from "node:path";
import { discover } from "./gather/discover.js";
import { gatherStage, type StageData } from "./gather/stages.js";
import { anchorId, html, page, type Html } from "./render/html.js";
import { SECTIONS } from "./sections.js";
import type { GatherContext, RenderedSection } from "./section.js";

/** The page may never grow past this (the issue's limit for any dataset); sections cap what they list to stay far below it. */
export const MAX_REPORT_BYTES = 20 * 1024 * 1024;

export interface ReportOptions {
  /** The output root of `lwm run` (`--out`). */
  outDir: string;
  /** Run folders beyond <out>/runs/*. */
  runs?: readonly string[];
  /** Run the validator on every shard (default true). */
  validate?: boolean;
  /** Rows sampled per stage for lineage (default 2). */
  sampleRows?: number;
  /** The VQ model folder that decodes vision rows (or `recipe`, whose `vqgan` names it); without either the Vision section says what to give. */
  vqgan?: string;
  recipe?: string;
  /** Progress lines, e.g. to stderr. */
  log?: (line: string) => void;
}

export interface ReportResult {
  html: string;
  bytes: number;
  sections: { id: string; title: string; present: boolean; why: string | null }[];
  problems: string[];
}

function status(sections: readonly RenderedSection[]): Html {
  const problems = sections.flatMap((s) => s.problems);
  const missing = sections.filter((s) => s.body === null);
  const verdict =
    problems.length === 0
      ? html`<p class="ok">Everything the report looked for that exists here was read without problems.</p>`
      : html`<div class="problems"><b>Problems (${problems.length})</b><ul>${problems.slice(0, 50).map((p) => html`<li>${p}</li>`)}</ul>${problems.length > 50 ? html`<p>${problems.length - 50} more in the sections below.</p>` : ""}</div>`;
  const absentList =
    missing.length === 0
      ? ""
      : html`<div class="absent"><b>Not in this report</b><ul>${missing.map((s) => html`<li><a href="#${anchorId("section", s.id)}">${s.title}</a>: ${s.why}</li>`)}</ul></div>`;
  return html`${verdict}${absentList}`;
}

function section(s: RenderedSection): Html {
  return html`<section id="${anchorId("section", s.id)}"><h2>${s.title}</h2>${s.body ?? html`<p class="absent">Absent: ${s.why}</p>`}</section>`;
}

export async function buildReport(options: ReportOptions): Promise<ReportResult> {
  const log = options.log ?? (() => {});
  const outDir = resolve(options.outDir);
  const files = await discover(
    outDir,
    (options.runs ?? []).map((r) => resolve(r)),
  );
  const validate = options.validate ?? true;
  const stages: StageData[] = [];
  for (const name of files.stages) {
    log(`stage ${name}: reading${validate ? " and validating" : ""} shards`);
    stages.push(await gatherStage(outDir, name, validate));
  }
  const ctx: GatherContext = { files, stages, sampleRows: options.sampleRows ?? 2, vision: { vqgan: options.vqgan, recipe: options.recipe } };
  const sections: RenderedSection[] = [];
  for (const run of SECTIONS) sections.push(await run(ctx));
  const title = `lwm report: ${outDir}`;
  const body = html`<h1>lwm report</h1>
<p class="muted">Output root <code>${outDir}</code>: ${files.stages.length} stage(s), ${files.steps.length} step(s), ${files.runs.length} training run(s); made ${new Date().toISOString()} by <code>lwm report</code>.</p>
<nav>${sections.map((s) => html`<a href="#${anchorId("section", s.id)}">${s.title}</a>`)}</nav>
${status(sections)}
${sections.map(section)}`;
  const text = page(title, body);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_REPORT_BYTES)
    throw new Error(
      `the report came to ${bytes} bytes, over the ${MAX_REPORT_BYTES}-byte limit: a section lists too much (a bug: sections cap what they list)`,
    );
  return {
    html: text,
    bytes,
    sections: sections.map((s) => ({ id: s.id, title: s.title, present: s.body !== null, why: s.why })),
    problems: sections.flatMap((s) => s.problems),
  };
}
