import type { NeedleEvalRecord } from "@lwm/schemas";
import { escapeHtml as esc } from "../train/html.js";

function colour(a: number): string {
  // Red → yellow → green.
  const r = a < 0.5 ? 215 : Math.round(215 - (a - 0.5) * 2 * 180);
  const g = a < 0.5 ? Math.round(48 + a * 2 * 167) : 215;
  return `rgb(${r},${g},60)`;
}

/**
 * One inline-SVG heat map per needle count (no scripts, no URLs): context length across, depth down
 * (LWM's figure layout), red (0) to green (1) by accuracy, the value in each cell.
 */
export function needleHeatmapSvgs(records: readonly NeedleEvalRecord[]): string[] {
  const counts = [...new Set(records.map((r) => r.needles))].sort((a, b) => a - b);
  return counts.map((count) => {
    const rs = records.filter((r) => r.needles === count);
    const lengths = [...new Set(rs.map((r) => r.contextTokens))].sort((a, b) => a - b);
    const depths = [...new Set(rs.map((r) => r.depth))].sort((a, b) => a - b);
    const cell = 44;
    const left = 70;
    const top = 30;
    const w = Math.max(left + lengths.length * cell + 20, 280); // room for the axis title under a narrow grid
    const h = top + depths.length * cell + 50;
    const parts: string[] = [];
    depths.forEach((d, yi) => {
      parts.push(`<text x="${left - 6}" y="${top + yi * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${Math.round(d * 100)}%</text>`);
      lengths.forEach((L, xi) => {
        const r = rs.find((x) => x.contextTokens === L && x.depth === d);
        const x = left + xi * cell;
        const y = top + yi * cell;
        if (!r) {
          parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="#ddd"/>`);
          return;
        }
        parts.push(
          `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${colour(r.accuracy)}" stroke="#fff"><title>${L} tokens, depth ${Math.round(d * 100)}%: ${r.correct}/${r.trials}</title></rect>`,
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="11">${r.accuracy.toFixed(2)}</text>`,
        );
      });
    });
    lengths.forEach((L, xi) => {
      parts.push(
        `<text x="${left + xi * cell + cell / 2}" y="${top + depths.length * cell + 16}" text-anchor="middle" font-size="10">${L >= 1000 ? `${(L / 1000).toFixed(L % 1000 ? 1 : 0)}K` : L}</text>`,
      );
    });
    parts.push(`<text x="${left + (lengths.length * cell) / 2}" y="${h - 10}" text-anchor="middle" font-size="12">context length (tokens)</text>`);
    parts.push(
      `<text x="14" y="${top + (depths.length * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${top + (depths.length * cell) / 2})">needle depth</text>`,
    );
    parts.push(`<text x="${left}" y="18" font-size="13" font-weight="bold">${count} needle${count > 1 ? "s" : ""}</text>`);
    return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${count}-needle accuracy">${parts.join("")}</svg>`;
  });
}

/** The needle grid as a self-contained HTML page: the heat maps of `needleHeatmapSvgs`. */
export function renderNeedleHeatmap(title: string, records: readonly NeedleEvalRecord[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}svg{margin:0 24px 24px 0}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>Needle in a haystack: accuracy per (context length, depth); a trial is correct when every needle's 7-digit number appears in the greedy answer.</p>
${needleHeatmapSvgs(records).join("\n")}
</body></html>
`;
}
