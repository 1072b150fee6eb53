import type { LineageData, LineageRow } from "../gather/lineage.js";
import { int } from "./format.js";
import { html, type Html } from "./html.js";

function row(r: LineageRow): Html {
  const segs = r.segments.map(
    (s) =>
      html`<tr><td class="n">${s.index}</td><td class="n">[${s.start}, ${s.end})</td><td class="n">${int(s.textTokens)} / ${int(s.visionTokens)}</td><td class="n">${int(s.lossTokens)}</td><td><code>${s.source}</code><br><span class="muted">example ${s.exampleId}</span></td><td><div class="text">${s.text}</div></td></tr>`,
  );
  return html`<h3>Stage ${r.stage}, row ${r.row} <span class="muted">(${r.shard} row ${r.shardRow}: ${r.segments.length + r.segmentsLeftOut} segments, ${int(r.realTokens)} of ${int(r.seqLen)} tokens real)</span></h3>
<table><tr><th>seg</th><th>tokens</th><th>text / vision</th><th>loss</th><th>source</th><th>decoded text («…» = loss targets)</th></tr>${segs}</table>${r.segmentsLeftOut > 0 ? html`<p class="muted">${r.segmentsLeftOut} more segments not shown.</p>` : ""}`;
}

export function renderLineage(d: LineageData): Html {
  return html`<p class="muted">${d.decoding}.</p>${d.rows.map(row)}`;
}
