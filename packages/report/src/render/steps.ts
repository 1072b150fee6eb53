import type { RejectPosition } from "@lwm/core";
import type { RejectsData, StepData } from "../gather/steps.js";
import { bytes, duration, int, rate, shortHash } from "./format.js";
import { anchorId, html, type Html } from "./html.js";

/** Outputs listed per step (all are counted). */
const OUTPUTS_LISTED = 30;

function position(p: RejectPosition): string {
  const parts: string[] = [];
  if (p.line !== undefined) parts.push(`line ${p.line}`);
  if (p.bytes) parts.push(`bytes [${p.bytes.start}, ${p.bytes.end})`);
  if (p.rowGroup !== undefined) parts.push(`row group ${p.rowGroup}`);
  if (p.row !== undefined) parts.push(`row ${p.row}`);
  if (p.entry !== undefined) parts.push(`entry ${p.entry}`);
  return parts.join(", ");
}

function rejects(r: RejectsData): Html {
  if (r.total === 0) return html`<p>No rejects.</p>`;
  const reasons = r.reasons.map(
    (x) =>
      html`<tr><td>${x.reason}</td><td class="n">${int(x.count)}</td><td><ul>${x.examples.map((e) => html`<li><code>${e.source}</code> ${position(e.position)}: ${e.reason}</li>`)}</ul></td></tr>`,
  );
  return html`<h4>Rejects: ${int(r.total)}</h4><table><tr><th>reason</th><th>count</th><th>examples</th></tr>${reasons}</table>${r.reasonsLeftOut > 0 ? html`<p class="muted">${r.reasonsLeftOut} more reasons not listed.</p>` : ""}${r.badLines > 0 ? html`<p class="bad">${r.badLines} line(s) of rejects.jsonl are not reject records.</p>` : ""}`;
}

function step(s: StepData): Html {
  const r = s.report;
  const parts: Html[] = [];
  if (s.problems.length > 0) parts.push(html`<div class="problems"><ul>${s.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`);
  if (r) {
    const status = r.ok ? html`<span class="ok">ok</span>` : html`<span class="bad">FAILED</span>`;
    parts.push(html`<table>
<tr><th>status</th><td>${status}${r.finalized ? "" : " (slice, not finalized)"}; version ${r.version}</td></tr>
<tr><th>inputs</th><td>${int(r.inputs.files)} files, ${bytes(r.inputs.bytes)}</td></tr>
<tr><th>units</th><td>${int(r.units.planned)} planned: ${int(r.units.executed)} run, ${int(r.units.skipped)} done before, ${int(r.units.failed)} failed</td></tr>
<tr><th>time</th><td>${duration(r.timeMs)} wall, ${duration(r.cpuMs.user + r.cpuMs.system)} CPU, ${r.threads.total} threads (${r.threads.workers} workers)</td></tr>
<tr><th>throughput</th><td>${Object.entries(r.throughput).map(([k, v]) => html`${k.replace(/PerSecond$/, "")} ${rate(v)}/s; `)}</td></tr>
<tr><th>totals</th><td>${Object.entries(r.metrics.total).map(([k, v]) => html`${k} ${int(v)}; `)}</td></tr>
</table>`);
    if (r.failures.length > 0)
      parts.push(html`<h4>Failed units</h4><ul>${r.failures.slice(0, 20).map((f) => html`<li><code>${f.unit}</code>: ${f.error}</li>`)}</ul>`);
    if (r.outputs.length > 0) {
      const listed = r.outputs.slice(0, OUTPUTS_LISTED);
      parts.push(
        html`<details><summary>Outputs: ${r.outputs.length} files, ${bytes(r.outputs.reduce((a, o) => a + o.bytes, 0))}</summary><table><tr><th>file</th><th>bytes</th><th>sha256</th></tr>${listed.map((o) => html`<tr><td><code>${o.path}</code></td><td class="n">${bytes(o.bytes)}</td><td><code title="${o.sha256}">${shortHash(o.sha256)}</code></td></tr>`)}</table>${r.outputs.length > listed.length ? html`<p class="muted">${r.outputs.length - listed.length} more not listed.</p>` : ""}</details>`,
      );
    }
  }
  if (s.rejects) parts.push(rejects(s.rejects));
  return html`<section id="${anchorId("step", s.name)}"><h3>Step ${s.name}</h3>${parts}</section>`;
}

export function renderSteps(steps: readonly StepData[]): Html {
  return html`${steps.map(step)}`;
}
