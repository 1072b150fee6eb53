import { describe, expect, it } from "vitest";
import { renderLossCurve } from "./curve-html.js";
import type { MetricsRecord, StepRecord } from "./metrics.js";

const stage = (name: string, startStep: number, kindOfStage: "text" | "vision-language" = "text"): MetricsRecord => ({
  kind: "stage",
  stage: name,
  kindOfStage,
  seqLen: 64,
  ropeTheta: 1e6,
  steps: 2,
  batchRows: 2,
  trainRows: 10,
  evalRows: 2,
  initFrom: "x",
  initSha256: "0".repeat(64),
  startStep,
});
const step = (name: string, s: number, loss: number): StepRecord => ({
  kind: "step",
  stage: name,
  stageStep: s,
  step: s,
  loss,
  textLoss: loss,
  visionLoss: 0,
  textAccuracy: 0.5,
  visionAccuracy: null,
  lr: 1e-3,
  gradNorm: 1,
  examples: 3,
  stageTokens: 128 * s,
  totalTokens: 128 * s,
  tokensPerSecond: 100,
  modelGflops: 0.1,
  seconds: 1,
  engineSeconds: 0.9,
});

describe("renderLossCurve", () => {
  it("is a self-contained page with one curve per stage, eval dots and stage markers", () => {
    const html = renderLossCurve("run <a>", [
      stage("s64", 0),
      step("s64", 1, 3.5),
      step("s64", 2, 3.1),
      {
        kind: "eval",
        stage: "s64",
        stageStep: 2,
        step: 2,
        evalLoss: 3.2,
        evalTextLoss: 3.2,
        evalVisionLoss: 0,
        evalTextAccuracy: 0.4,
        evalVisionAccuracy: null,
        rows: 2,
        examples: 4,
      },
      stage("s128", 2),
      step("s128", 3, 2.9),
    ]);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("run &lt;a&gt;");
    expect(html.match(/<polyline/g)).toHaveLength(2);
    expect(html.match(/<circle[^>]*fill="#d62728"><title>eval loss 3\.2000/g)).toHaveLength(1);
    expect(html).toContain("s128 (L=64");
  });

  it("draws a vision-language stage's text and vision losses beside its loss, and tables them", () => {
    const vl = (s: number, textLoss: number, visionLoss: number): StepRecord => ({
      ...step("vl", s, 0.5 * (textLoss + visionLoss)),
      textLoss,
      visionLoss,
      visionAccuracy: 0.1,
    });
    const html = renderLossCurve("run", [
      stage("t", 0),
      step("t", 1, 3),
      stage("vl", 1, "vision-language"),
      vl(2, 2, 8),
      { ...vl(3, 1.8, 0), visionAccuracy: null },
      vl(4, 1.5, 7),
    ]);
    expect(html.match(/<polyline/g)).toHaveLength(4);
    expect(html).toMatch(/<polyline[^>]*stroke="#2ca02c"[^>]*points="[^"]+ [^"]+"><title>text loss, vl<\/title>/);
    expect(html).toMatch(/<polyline[^>]*stroke="#9467bd"[^>]*points="[^"]+ [^"]+"><title>vision loss, vl<\/title>/);
    expect(html).toContain("4.2500 (text 1.5000, vision 7.0000)");
    // Step 3 had no vision target: its vision part (0) is not a point of the vision curve.
    const points = (title: string) => html.match(new RegExp(`points="([^"]+)"><title>${title}`))![1]!.split(" ");
    expect(points("text loss, vl")).toHaveLength(3);
    expect(points("vision loss, vl")).toHaveLength(2);
  });

  it("tables each stage's median tokens/s and model GFLOP/s, each the median of its own column", () => {
    const rate = (s: number, tokensPerSecond: number, modelGflops: number): MetricsRecord => ({ ...step("s64", s, 3), tokensPerSecond, modelGflops });
    const html = renderLossCurve("run", [stage("s64", 0), rate(1, 100, 0.1), rate(2, 300, 0.2), rate(3, 200, 0.9)]);
    expect(html).toContain("<td>200</td><td>0.20</td></tr>");
  });
});
