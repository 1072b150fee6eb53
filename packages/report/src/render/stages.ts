import type { StageData } from "../gather/stages.js";
import { barChart, shareBar } from "./charts.js";
import { bytes, int, pct, shortHash } from "./format.js";
import { anchorId, html, type Html } from "./html.js";

/** Shards listed per stage (all are validated and counted). */
export const SHARDS_LISTED = 100;
const ERRORS_LISTED = 10;

/** 512 → "512", 2048 → "2K", 1048576 → "1M": short bucket bounds for axis labels. */
const tokensShort = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)}M` : n >= 1024 ? `${n / 1024}K` : String(n));

function verdictCell(s: StageData, file: string): Html {
  const v = s.validation;
  if (!v.ran) return html`<td class="muted">not run</td>`;
  const mine = v.shards[file];
  if (mine) return html`<td class="bad">${mine.errors} error(s): ${mine.rules.join(", ")}</td>`;
  if (v.truncated) return html`<td class="muted">none listed (error list truncated)</td>`;
  return html`<td class="ok">valid</td>`;
}

function stageVerdict(s: StageData): Html {
  const v = s.validation;
  if (!v.ran) return html`<span class="muted">not validated</span>`;
  if (v.ok) return html`<span class="ok">valid</span>`;
  const n = Object.values(v.errorCounts).reduce((a, b) => a + b, 0);
  return html`<span class="bad">${n} error(s)</span>`;
}

function overview(stages: readonly StageData[]): Html {
  const rows = stages.map((s) => {
    const m = s.manifest;
    const sum = s.summary;
    if (!m && !sum)
      return html`<tr><td><a href="#${anchorId("stage", s.name)}">${s.name}</a></td><td colspan="10" class="bad">missing: ${s.problems[0] ?? "no shards"}</td></tr>`;
    const rowsN = m?.totals.rows ?? sum!.rows;
    const tokens = m?.totals.tokens ?? sum!.tokens;
    const fill = m?.totals.fill ?? sum!.fill;
    const loss = m ? m.totals.lossTokens / Math.max(1, m.totals.realTokens) : sum!.lossShare;
    const segs = m?.totals.segments ?? sum!.segments;
    const fileBytes = m ? m.shards.reduce((a, x) => a + x.bytes, 0) : sum!.bytes;
    return html`<tr><td><a href="#${anchorId("stage", s.name)}">${s.name}</a></td><td class="n">${m ? int(m.seqLen) : sum?.meta ? int(sum.meta.seqLen) : "–"}</td><td class="n">${int(rowsN)}</td><td class="n">${int(tokens)}</td><td class="n">${pct(fill)}</td><td class="n">${pct(loss)}</td><td class="n">${int(segs)}</td><td class="n">${sum ? sum.segmentsPerRow.mean.toFixed(2) : "–"}</td><td class="n">${(fileBytes / Math.max(1, tokens)).toFixed(3)}</td><td class="n">${m?.shards.length ?? sum?.shards.length ?? 0}</td><td>${stageVerdict(s)}</td></tr>`;
  });
  return html`<table><tr><th>stage</th><th>seq len</th><th>rows</th><th>tokens</th><th>fill</th><th>loss tokens</th><th>segments</th><th>segments/row</th><th>bytes/token</th><th>shards</th><th>lwm validate</th></tr>${rows}</table>`;
}

function inputs(stages: readonly StageData[]): Html {
  const files = new Map<string, { sha256: string; stages: string[] }>();
  for (const s of stages)
    for (const i of s.manifest?.inputs ?? []) {
      const e = files.get(i.file) ?? { sha256: i.sha256, stages: [] };
      e.stages.push(s.name);
      files.set(i.file, e);
    }
  if (files.size === 0) return html``;
  const rows = [...files.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, e]) => html`<tr><td><code>${file}</code></td><td><code title="${e.sha256}">${e.sha256}</code></td><td>${e.stages.join(", ")}</td></tr>`);
  return html`<h3>Input files</h3><table><tr><th>file</th><th>sha256</th><th>stages</th></tr>${rows}</table>`;
}

function stageDetail(s: StageData): Html {
  const m = s.manifest;
  const sum = s.summary;
  const parts: Html[] = [];
  if (s.problems.length > 0) parts.push(html`<div class="problems"><ul>${s.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`);
  if (sum) {
    const real = Math.max(1, sum.realTokens);
    parts.push(html`<div class="cards">
<div class="card">rows<b>${int(sum.rows)}</b></div>
<div class="card">tokens<b>${int(sum.tokens)}</b>real ${int(sum.realTokens)}</div>
<div class="card">fill<b>${pct(sum.fill)}</b>padding ${int(sum.tokens - sum.realTokens)}</div>
<div class="card">bytes/token<b>${(sum.bytes / Math.max(1, sum.tokens)).toFixed(3)}</b>${bytes(sum.bytes)}</div>
<div class="card">segments/row<b>${sum.segmentsPerRow.mean.toFixed(2)}</b>min ${sum.segmentsPerRow.min}, max ${sum.segmentsPerRow.max}</div>
<div class="card">loss tokens<b>${pct(sum.lossShare)}</b>text ${int(sum.textLossTokens)}, vision ${int(sum.visionLossTokens)}</div>
<div class="card">modality<b>${pct(sum.textTokens / real)} text</b>vision ${int(sum.visionTokens)} tokens</div>
</div>`);
    const buckets = sum.segmentLengths.filter((b) => b.count > 0);
    if (buckets.length > 0) {
      parts.push(
        html`<h4>Segment lengths (tokens, log2 buckets)</h4>`,
        barChart({
          label: `segment-length histogram of stage ${s.name}`,
          xTitle: "segment length (tokens, [from, to))",
          series: [{ name: "segments", colour: "#1f77b4" }],
          groups: buckets.map((b) => ({ label: `${tokensShort(b.from)}–${tokensShort(b.to)}`, values: [b.count] })),
        }),
      );
    }
    if (sum.realTokens > 0) {
      parts.push(
        html`<h4>Modality mix (real tokens)</h4>`,
        shareBar(`modality mix of stage ${s.name}`, [
          { name: "text", value: sum.textTokens, colour: "#1f77b4" },
          { name: "vision", value: sum.visionTokens, colour: "#ff7f0e" },
        ]),
      );
    }
  }
  if (m && m.mixture.length > 0) {
    parts.push(
      html`<h4>Mixture: asked vs achieved (share of real tokens)</h4>`,
      barChart({
        label: `mixture asked vs achieved of stage ${s.name}`,
        xTitle: "source",
        max: 1,
        format: (v) => pct(v),
        series: [
          { name: "asked", colour: "#9ecae1" },
          { name: "achieved", colour: "#08519c" },
        ],
        groups: m.mixture.map((x) => ({ label: x.source, values: [x.asked, x.achieved] })),
      }),
    );
    parts.push(
      html`<table><tr><th>source</th><th>asked</th><th>achieved</th><th>tokens</th><th>examples</th></tr>${m.mixture.map((x) => html`<tr><td>${x.source}</td><td class="n">${pct(x.asked)}</td><td class="n">${pct(x.achieved)}</td><td class="n">${int(x.tokens)}</td><td class="n">${int(x.examples)}</td></tr>`)}</table>`,
    );
  }
  if (sum && sum.sources.length > 0) {
    const top = sum.sources.slice(0, 20);
    parts.push(
      html`<h4>Sources in the rows</h4><table><tr><th>source</th><th>segments</th><th>tokens</th></tr>${top.map((x) => html`<tr><td><code>${x.source}</code></td><td class="n">${int(x.segments)}</td><td class="n">${int(x.tokens)}</td></tr>`)}</table>${sum.sources.length > top.length ? html`<p class="muted">${sum.sources.length - top.length} more sources not listed.</p>` : ""}`,
    );
  }
  const shards = m?.shards ?? [];
  if (shards.length > 0) {
    const listed = shards.slice(0, SHARDS_LISTED);
    parts.push(
      html`<h4>Shards</h4><table><tr><th>file</th><th>rows</th><th>tokens</th><th>real</th><th>loss</th><th>segments</th><th>bytes</th><th>sha256</th><th>lwm validate</th></tr>${listed.map((x) => html`<tr><td><code>${x.file}</code></td><td class="n">${int(x.rows)}</td><td class="n">${int(x.tokens)}</td><td class="n">${int(x.realTokens)}</td><td class="n">${int(x.lossTokens)}</td><td class="n">${int(x.segments)}</td><td class="n">${bytes(x.bytes)}</td><td><code title="${x.sha256}">${shortHash(x.sha256)}</code></td>${verdictCell(s, x.file)}</tr>`)}</table>${shards.length > listed.length ? html`<p class="muted">${shards.length - listed.length} more shards not listed.</p>` : ""}`,
    );
  }
  const v = s.validation;
  if (v.ran && !v.ok) {
    parts.push(html`<h4>Validator errors</h4><table><tr><th>rule</th><th>count</th></tr>${Object.entries(v.errorCounts).map(([rule, n]) => html`<tr><td><code>${rule}</code></td><td class="n">${n}</td></tr>`)}</table>
<ul>${v.errors.slice(0, ERRORS_LISTED).map((e) => html`<li><code>${e.shard}</code>${e.row !== null ? ` row ${e.row}` : ""}${e.token !== null ? ` token ${e.token}` : ""} [${e.rule}]: ${e.message}</li>`)}</ul>`);
  }
  return html`<section id="${anchorId("stage", s.name)}"><h3>Stage ${s.name}${m ? html` <span class="muted">(seq len ${int(m.seqLen)})</span>` : ""}</h3>${parts}</section>`;
}

export function renderStages(stages: readonly StageData[], validated: boolean): Html {
  return html`${overview(stages)}${validated ? "" : html`<p class="absent">Shards were not validated (<code>--no-validate</code>): the verdict column says "not run". Run <code>lwm validate</code> or drop the flag.</p>`}${inputs(stages)}${stages.map(stageDetail)}`;
}
