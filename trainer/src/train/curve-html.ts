import { escapeHtml as esc, median, niceTicks } from "./html.js";
import type { EvalRecord, MetricsRecord, StageRecord, StepRecord } from "./metrics.js";

const W = 900;
const H = 420;
const PAD = { left: 64, right: 20, top: 30, bottom: 48 };

/** The two parts of a vision-language stage's loss, 0.5·(text + vision), drawn beside it. */
const PARTS = [
  { key: "textLoss", accuracy: "textAccuracy", label: "text", colour: "#2ca02c" },
  { key: "visionLoss", accuracy: "visionAccuracy", label: "vision", colour: "#9467bd" },
] as const;

/** A step scored a part only when its batch had targets of that modality (else the part is 0 and its accuracy null). */
const scored = (r: StepRecord, part: (typeof PARTS)[number]) => r[part.accuracy] !== null && Number.isFinite(r[part.key]);

/**
 * The loss curve across stages as an inline SVG (no scripts, no URLs): training loss per optimizer
 * step, eval loss as dots, a dashed line and label where each stage starts; vision-language stages
 * also get their text and vision losses as dashed curves.
 */
export function lossCurveSvg(records: readonly MetricsRecord[]): string {
  const steps = records.filter((r): r is StepRecord => r.kind === "step" && Number.isFinite(r.loss));
  const evals = records.filter((r): r is EvalRecord => r.kind === "eval" && Number.isFinite(r.evalLoss));
  const stages = records.filter((r): r is StageRecord => r.kind === "stage");
  const visionStages = new Set(stages.filter((s) => s.kindOfStage === "vision-language").map((s) => s.stage));
  const partSteps = steps.filter((r) => visionStages.has(r.stage));
  const xs = [...steps.map((r) => r.step), ...evals.map((r) => r.step), ...stages.map((r) => r.startStep), 1];
  const ys = [
    ...steps.map((r) => r.loss),
    ...evals.map((r) => r.evalLoss),
    ...partSteps.flatMap((r) => PARTS.filter((p) => scored(r, p)).map((p) => r[p.key])),
  ];
  const xMax = Math.max(...xs);
  const yMin = ys.length ? Math.min(...ys) : 0;
  const yMax = ys.length ? Math.max(...ys) : 1;
  const yLo = Math.max(0, yMin - 0.05 * (yMax - yMin || 1));
  const yHi = yMax + 0.05 * (yMax - yMin || 1);
  const px = (x: number) => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const py = (y: number) => H - PAD.bottom - ((y - yLo) / (yHi - yLo)) * (H - PAD.top - PAD.bottom);
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  for (const t of niceTicks(yLo, yHi, 6)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${f(py(t) + 4)}" text-anchor="end" font-size="11">${t}</text>`);
  }
  for (const t of niceTicks(0, xMax, 8)) {
    parts.push(`<text x="${f(px(t))}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  stages.forEach((s, i) => {
    const x = f(px(s.startStep));
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#999" stroke-dasharray="4 3"/>`);
    parts.push(
      `<text x="${f(px(s.startStep) + 4)}" y="${PAD.top + 12 + (i % 2) * 13}" font-size="11" fill="#555">${esc(s.stage)} (L=${s.seqLen}, θ=${s.ropeTheta.toExponential(0)})</text>`,
    );
  });
  // One polyline per stage so the curve breaks at stage boundaries.
  for (const s of stages.length ? stages.map((x) => x.stage) : [...new Set(steps.map((r) => r.stage))]) {
    const pts = steps.filter((r) => r.stage === s).map((r) => `${f(px(r.step))},${f(py(r.loss))}`);
    if (pts.length)
      parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${pts.join(" ")}"><title>train loss, ${esc(s)}</title></polyline>`);
  }
  for (const s of visionStages) {
    for (const part of PARTS) {
      const pts = partSteps.filter((r) => r.stage === s && scored(r, part)).map((r) => `${f(px(r.step))},${f(py(r[part.key]))}`);
      if (pts.length)
        parts.push(
          `<polyline fill="none" stroke="${part.colour}" stroke-width="1.2" stroke-dasharray="5 3" points="${pts.join(" ")}"><title>${part.label} loss, ${esc(s)}</title></polyline>`,
        );
    }
  }
  for (const e of evals) {
    parts.push(
      `<circle cx="${f(px(e.step))}" cy="${f(py(e.evalLoss))}" r="4" fill="#d62728"><title>eval loss ${e.evalLoss.toFixed(4)} (${esc(e.stage)}, step ${e.step})</title></circle>`,
    );
  }
  const axes =
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#333"/>` +
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#333"/>` +
    `<text x="${(W + PAD.left) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">optimizer step (all stages)</text>` +
    `<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${H / 2})">loss</text>` +
    `<line x1="${W - 190}" x2="${W - 170}" y1="14" y2="14" stroke="#1f77b4" stroke-width="2"/><text x="${W - 165}" y="18" font-size="11">train</text>` +
    `<circle cx="${W - 110}" cy="14" r="4" fill="#d62728"/><text x="${W - 102}" y="18" font-size="11">eval (held out)</text>` +
    (visionStages.size === 0
      ? ""
      : PARTS.map(
          (p, i) =>
            `<line x1="${W - 330 + i * 70}" x2="${W - 310 + i * 70}" y1="14" y2="14" stroke="${p.colour}" stroke-width="2" stroke-dasharray="5 3"/><text x="${W - 305 + i * 70}" y="18" font-size="11">${p.label}</text>`,
        ).join(""));
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="loss curve">
${axes}
${parts.join("\n")}
</svg>`;
}

/** A table row per stage: its length, θ, steps done, last train and eval loss, median tokens/s and model GFLOP/s. */
export function lossStageTable(records: readonly MetricsRecord[]): string {
  const steps = records.filter((r): r is StepRecord => r.kind === "step" && Number.isFinite(r.loss));
  const evals = records.filter((r): r is EvalRecord => r.kind === "eval" && Number.isFinite(r.evalLoss));
  const stages = records.filter((r): r is StageRecord => r.kind === "stage");
  const rows = stages
    .map((s) => {
      const last = steps.filter((r) => r.stage === s.stage).at(-1);
      const ev = evals.filter((r) => r.stage === s.stage).at(-1);
      const stageSteps = steps.filter((r) => r.stage === s.stage);
      const tokensPerSecond = median(stageSteps.map((r) => r.tokensPerSecond));
      const gflops = median(stageSteps.map((r) => r.modelGflops));
      const speed = `<td>${tokensPerSecond?.toFixed(0) ?? "–"}</td><td>${gflops?.toFixed(2) ?? "–"}</td>`;
      return `<tr><td>${esc(s.stage)}</td><td>${s.seqLen}</td><td>${s.ropeTheta}</td><td>${last ? last.stageStep : 0}/${s.steps}</td><td>${last ? last.loss.toFixed(4) : "–"}${last && s.kindOfStage === "vision-language" ? ` (text ${last.textLoss.toFixed(4)}, vision ${last.visionLoss.toFixed(4)})` : ""}</td><td>${ev ? ev.evalLoss.toFixed(4) : "–"}</td>${speed}</tr>`;
    })
    .join("");
  return `<table><tr><th>stage</th><th>seq len</th><th>RoPE θ</th><th>steps</th><th>last train loss</th><th>last eval loss</th><th>tokens/s (median)</th><th>model GFLOP/s (median)</th></tr>${rows}</table>`;
}

/**
 * The loss curve across stages as one self-contained HTML page (inline SVG, no scripts, no network):
 * the curve and a table per stage with its last losses and median throughput.
 */
export function renderLossCurve(title: string, records: readonly MetricsRecord[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style>
</head><body>
<h1>${esc(title)}</h1>
${lossCurveSvg(records)}
${lossStageTable(records)}
</body></html>
`;
}
