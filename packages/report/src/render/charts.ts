/**
 * Small SVG charts as pure functions of their data. Every label passes through `html`, so names
 * from the data are escaped; every chart carries role="img", an aria-label and a <title> per mark.
 */
import { niceTicks } from "@lwm/trainer";
import { html, type Html } from "./html.js";

const f = (v: number) => v.toFixed(1);

export interface BarSeries {
  name: string;
  colour: string;
}

export interface BarGroup {
  label: string;
  /** One value per series, in series order. */
  values: readonly number[];
}

export interface BarChartOptions {
  label: string;
  series: readonly BarSeries[];
  groups: readonly BarGroup[];
  /** Axis title under the bars. */
  xTitle: string;
  /** Axis maximum (e.g. 1 for shares); default: the largest value. */
  max?: number;
  /** How a value reads in its tooltip and tick labels. */
  format?: (v: number) => string;
}

/** Vertical bars, one group per label, one bar per series inside a group (asked vs achieved, histograms). */
export function barChart(o: BarChartOptions): Html {
  const fmt = o.format ?? ((v: number) => String(v));
  const perGroup = o.series.length;
  const bar = Math.max(6, Math.min(28, Math.floor(640 / Math.max(1, o.groups.length * perGroup))));
  const gap = Math.max(8, bar);
  const left = 60;
  const top = o.series.length > 1 ? 28 : 12;
  const plotH = 160;
  const W = Math.max(320, left + o.groups.length * (perGroup * bar + gap) + 20);
  const H = top + plotH + 46;
  const top0 = o.max ?? Math.max(0, ...o.groups.flatMap((g) => g.values));
  const yMax = top0 > 0 ? top0 : 1;
  const py = (v: number) => top + plotH - (v / yMax) * plotH;
  const ticks = niceTicks(0, yMax, 4);
  const marks: Html[] = [];
  for (const t of ticks) {
    marks.push(
      html`<line x1="${left}" x2="${W - 10}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#eee"/><text x="${left - 6}" y="${f(py(t) + 4)}" text-anchor="end" font-size="11">${fmt(t)}</text>`,
    );
  }
  o.groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * (perGroup * bar + gap);
    g.values.forEach((v, si) => {
      const s = o.series[si]!;
      const y = py(Math.max(0, v));
      marks.push(
        html`<rect x="${f(x0 + si * bar)}" y="${f(y)}" width="${bar - 1}" height="${f(top + plotH - y)}" fill="${s.colour}"><title>${g.label}: ${s.name} ${fmt(v)}</title></rect>`,
      );
    });
    const cx = x0 + (perGroup * bar) / 2;
    marks.push(html`<text x="${f(cx)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${g.label}</text>`);
  });
  const legend =
    o.series.length > 1
      ? o.series.map(
          (s, i) =>
            html`<rect x="${left + i * 120}" y="6" width="12" height="12" fill="${s.colour}"/><text x="${left + i * 120 + 16}" y="16" font-size="11">${s.name}</text>`,
        )
      : [];
  return html`<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.label}" data-chart="bar" data-points="${o.groups.length * perGroup}">
<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/><line x1="${left}" x2="${W - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>
${legend}${marks}<text x="${f((W + left) / 2)}" y="${H - 8}" text-anchor="middle" font-size="12">${o.xTitle}</text></svg>`;
}

export interface ShareBarPart {
  name: string;
  value: number;
  colour: string;
}

/** One horizontal bar split into parts by share (the modality mix), each part labelled. */
export function shareBar(label: string, parts: readonly ShareBarPart[]): Html {
  const W = 600;
  const H = 40;
  const total = parts.reduce((s, p) => s + p.value, 0) || 1;
  let x = 0;
  const marks = parts
    .filter((p) => p.value > 0)
    .map((p) => {
      const w = (p.value / total) * W;
      const mark = html`<rect x="${f(x)}" y="4" width="${f(w)}" height="20" fill="${p.colour}"><title>${p.name}: ${p.value} (${((100 * p.value) / total).toFixed(1)}%)</title></rect><text x="${f(x + 4)}" y="37" font-size="11">${p.name} ${((100 * p.value) / total).toFixed(1)}%</text>`;
      x += w;
      return mark;
    });
  return html`<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}" data-chart="share" data-points="${marks.length}">${marks}</svg>`;
}
