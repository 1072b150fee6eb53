import type { MetricsRecord } from "@lwm/trainer";
import { describe, expect, it } from "vitest";
import { cutText, sampleRowIndices } from "../gather/lineage.js";
import { barChart, shareBar } from "./charts.js";
import { CONTACT_SHEET_FRAMES, contactSheet } from "./contact-sheet.js";
import { anchorId, html, page, trusted } from "./html.js";
import { thinned } from "./training.js";

describe("html", () => {
  it("escapes every interpolated string, number and array item, and keeps Html as markup", () => {
    const name = `<b onmouseover="x">'&`;
    const out = html`<td title="${name}">${name}${[name, trusted("<i>ok</i>")]}${7}${null}${false}</td>`.text;
    expect(out).toBe(
      `<td title="&lt;b onmouseover=&quot;x&quot;&gt;&#39;&amp;">&lt;b onmouseover=&quot;x&quot;&gt;&#39;&amp;&lt;b onmouseover=&quot;x&quot;&gt;&#39;&amp;<i>ok</i>7</td>`,
    );
  });

  it("anchor ids keep only [a-z0-9-]", () => {
    expect(anchorId("stage", `2K"><x`)).toBe("stage-2k-x");
    expect(anchorId("run", "<>")).toBe("run-x");
  });

  it("the page starts with the CSP meta and escapes its title", () => {
    const p = page(`</title><script>`, html`<p>hi</p>`);
    expect(p).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:; style-src &#39;unsafe-inline&#39;">`);
    expect(p).toContain("<title>&lt;/title&gt;&lt;script&gt;</title>");
  });
});

describe("charts", () => {
  it("a bar chart has one rect per value with its label and value in a title, labels escaped", () => {
    const svg = barChart({
      label: "mix",
      xTitle: "source",
      max: 1,
      series: [
        { name: "asked", colour: "#111" },
        { name: "achieved", colour: "#222" },
      ],
      groups: [
        { label: "<a>", values: [0.5, 0.25] },
        { label: "b", values: [0.5, 0.75] },
      ],
    }).text;
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(4);
    expect(svg).toContain("<title>&lt;a&gt;: achieved 0.25</title>");
    expect(svg).not.toContain("<a>");
  });

  it("a share bar draws the non-zero parts only", () => {
    const svg = shareBar("modality", [
      { name: "text", value: 3, colour: "#111" },
      { name: "vision", value: 0, colour: "#222" },
    ]).text;
    expect(svg.match(/<rect /g)).toHaveLength(1);
    expect(svg).toContain("text 100.0%");
  });
});

describe("sampling and thinning", () => {
  it("samples first, last and evenly between, never more rows than there are", () => {
    expect(sampleRowIndices(44, 2)).toEqual([0, 43]);
    expect(sampleRowIndices(10, 3)).toEqual([0, 5, 9]);
    expect(sampleRowIndices(1, 3)).toEqual([0]);
    expect(sampleRowIndices(0, 3)).toEqual([]);
  });

  it("cuts long text to head … tail", () => {
    const t = cutText("a".repeat(500) + "b".repeat(500), 100);
    expect(t).toMatch(/^a{60} … \[900 chars left out\] … b{40}$/);
  });

  it("thins a long curve to about the point budget, keeping stage, eval and each stage's last step", () => {
    const stage = (name: string, startStep: number): MetricsRecord => ({
      kind: "stage",
      stage: name,
      kindOfStage: "text",
      seqLen: 8,
      ropeTheta: 1,
      steps: 5000,
      batchRows: 1,
      trainRows: 1,
      evalRows: 1,
      initFrom: "",
      initSha256: "",
      startStep,
    });
    const step = (name: string, s: number): MetricsRecord => ({
      kind: "step",
      stage: name,
      stageStep: s,
      step: s,
      loss: 1,
      textLoss: 1,
      visionLoss: 0,
      textAccuracy: null,
      visionAccuracy: null,
      lr: 0,
      gradNorm: 0,
      examples: 1,
      stageTokens: 0,
      totalTokens: 0,
      tokensPerSecond: 1,
      modelGflops: 1,
      seconds: 1,
      engineSeconds: 1,
    });
    const records = [
      stage("a", 0),
      ...Array.from({ length: 5000 }, (_, i) => step("a", i + 1)),
      stage("b", 5000),
      ...Array.from({ length: 5000 }, (_, i) => step("b", 5001 + i)),
    ];
    const t = thinned(records, 1000);
    const steps = t.filter((r) => r.kind === "step");
    expect(steps.length).toBeLessThanOrEqual(1002);
    expect(steps.length).toBeGreaterThan(900);
    expect(t.filter((r) => r.kind === "stage")).toHaveLength(2);
    expect(steps.some((r) => r.step === 5000)).toBe(true);
    expect(steps.at(-1)!.step).toBe(10000);
  });
});

describe("contact sheets", () => {
  it("shows at most 16 frames as data: JPEG images, evenly sampled, with the caption escaped", () => {
    const frames = Array.from({ length: 40 }, (_, i) => ({ jpeg: new Uint8Array([0xff, 0xd8, i]), width: 64, height: 64, seconds: i / 2 }));
    const sheet = contactSheet(frames, `a <b>cat</b> "on" a mat`, "row 3").text;
    const srcs = [...sheet.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1]!);
    expect(srcs).toHaveLength(CONTACT_SHEET_FRAMES);
    for (const s of srcs) expect(s).toMatch(/^data:image\/jpeg;base64,/);
    expect(sheet).toContain("a &lt;b&gt;cat&lt;/b&gt; &quot;on&quot; a mat");
    expect(sheet).toContain("0.00 s");
    expect(sheet).toContain("19.50 s");
    expect(sheet).toContain("16 of 40 frames shown.");
  });
});
