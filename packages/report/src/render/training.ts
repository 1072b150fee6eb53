import type { NeedleEvalRecord } from "@lwm/schemas";
import { lossCurveSvg, lossStageTable, needleHeatmapSvgs, type EvalRecord, type MetricsRecord } from "@lwm/trainer";
import type { RunData } from "../gather/runs.js";
import { anchorId, html, trusted, type Html } from "./html.js";

/** Step points drawn per loss curve; longer runs are thinned evenly (the tables use every step). */
export const CURVE_POINTS = 2000;

/** Every k-th step record (and each stage's last), all stage and eval records. */
export function thinned(records: readonly MetricsRecord[], maxSteps = CURVE_POINTS): MetricsRecord[] {
  const steps = records.filter((r) => r.kind === "step");
  if (steps.length <= maxSteps) return [...records];
  const every = Math.ceil(steps.length / maxSteps);
  let k = 0;
  return records.filter((r, i) => {
    if (r.kind !== "step") return true;
    const next = records[i + 1];
    return k++ % every === 0 || !next || next.kind !== "step" || next.stage !== r.stage;
  });
}

function evalTable(records: readonly MetricsRecord[]): Html {
  const evals = records.filter((r): r is EvalRecord => r.kind === "eval");
  if (evals.length === 0) return html`<p class="muted">No eval losses recorded.</p>`;
  const acc = (x: number | null) => (x === null ? "–" : x.toFixed(3));
  return html`<table><tr><th>stage</th><th>step</th><th>eval loss</th><th>text loss</th><th>vision loss</th><th>text acc</th><th>vision acc</th><th>rows</th></tr>${evals.slice(-40).map((e) => html`<tr><td>${e.stage}</td><td class="n">${e.step}</td><td class="n">${e.evalLoss.toFixed(4)}</td><td class="n">${e.evalTextLoss.toFixed(4)}</td><td class="n">${e.evalVisionLoss.toFixed(4)}</td><td class="n">${acc(e.evalTextAccuracy)}</td><td class="n">${acc(e.evalVisionAccuracy)}</td><td class="n">${e.rows}</td></tr>`)}</table>`;
}

function needle(file: string, records: readonly NeedleEvalRecord[]): Html {
  const mean = records.reduce((a, r) => a + r.accuracy, 0) / Math.max(1, records.length);
  return html`<h4>Needle in a haystack: <code>${file}</code></h4><p>${records.length} cells, mean accuracy ${mean.toFixed(3)}; checkpoint <code>${records[0]?.checkpoint ?? ""}</code></p>${trusted(needleHeatmapSvgs(records).join("\n"))}`;
}

function run(r: RunData): Html {
  const parts: Html[] = [];
  if (r.problems.length > 0) parts.push(html`<div class="problems"><ul>${r.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`);
  if (r.records.some((x) => x.kind === "step")) {
    // The trainer's renderers escape every name they print; their markup holds no URL.
    parts.push(trusted(lossCurveSvg(thinned(r.records))), trusted(lossStageTable(r.records)), html`<h4>Eval losses</h4>`, evalTable(r.records));
  } else if (r.records.length > 0) {
    parts.push(html`<p class="absent">No optimizer step recorded yet.</p>`);
  }
  for (const n of r.needles) parts.push(needle(n.file, n.records));
  if (r.needles.length === 0)
    parts.push(
      html`<p class="muted">No needle.json in this run folder (make one with <code>lwm eval needle --checkpoint ${r.dir}/checkpoints/&lt;stage&gt;/final --haystack FILE</code>).</p>`,
    );
  return html`<section id="${anchorId("run", r.name)}"><h3>Run ${r.name} <span class="muted"><code>${r.dir}</code></span></h3>${parts}</section>`;
}

export function renderTraining(runs: readonly RunData[]): Html {
  return html`${runs.map(run)}`;
}
