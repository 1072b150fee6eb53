/**
 * The sections of the page, in order. A new producer's section (vision contact sheets, QA
 * examples and accounting) replaces its placeholder here: gather from its files, render its data.
 */
import { join } from "node:path";
import { gatherLineage, type LineageData } from "./gather/lineage.js";
import { gatherRun, type RunData } from "./gather/runs.js";
import type { StageData } from "./gather/stages.js";
import { gatherStep, type StepData } from "./gather/steps.js";
import { renderLineage } from "./render/lineage.js";
import { renderStages } from "./render/stages.js";
import { renderSteps } from "./render/steps.js";
import { renderTraining } from "./render/training.js";
import { absent, present, runSection, type GatherContext, type RenderedSection, type Section } from "./section.js";
import { qaSection } from "./qa.js";
import { visionSection } from "./vision.js";

export { qaSection, visionSection };

export const stagesSection: Section<{ stages: StageData[]; validated: boolean }> = {
  id: "stages",
  title: "Stages",
  async gather(ctx) {
    if (ctx.stages.length === 0)
      return absent("no stage folders (out/<stage>/manifest.json) and no step report naming a stage: the pipeline has not packed anything here");
    return present(
      { stages: ctx.stages, validated: ctx.stages.some((s) => s.validation.ran) },
      ctx.stages.flatMap((s) => s.problems),
    );
  },
  render: (d) => renderStages(d.stages, d.validated),
};

export const stepsSection: Section<StepData[]> = {
  id: "steps",
  title: "Pipeline steps",
  async gather(ctx) {
    if (ctx.files.steps.length === 0) return absent("no step folders under work/: lwm run has not run here");
    const steps = await Promise.all(ctx.files.steps.map((s) => gatherStep(ctx.files.outDir, s)));
    return present(
      steps,
      steps.flatMap((s) => s.problems),
    );
  },
  render: renderSteps,
};

export const lineageSection: Section<LineageData> = {
  id: "lineage",
  title: "Lineage of sampled rows",
  async gather(ctx) {
    const readable = ctx.stages.filter((s) => s.summary && s.summary.rows > 0);
    if (readable.length === 0) return absent("no readable rows to sample");
    return present(await gatherLineage(ctx.files.outDir, readable, ctx.sampleRows));
  },
  render: renderLineage,
};

export const trainingSection: Section<RunData[]> = {
  id: "training",
  title: "Training runs",
  async gather(ctx) {
    if (ctx.files.runs.length === 0) {
      return absent(
        `no run folders (none under ${join(ctx.files.outDir, "runs")} with a metrics.jsonl, none given with --runs); train with: lwm train <recipe.json> --data ${ctx.files.outDir}`,
      );
    }
    const runs = await Promise.all(ctx.files.runs.map(gatherRun));
    return present(
      runs,
      runs.flatMap((r) => r.problems),
    );
  },
  render: renderTraining,
};

/** The page's sections in order, each gathered and rendered with its own data type. */
export const SECTIONS: readonly ((ctx: GatherContext) => Promise<RenderedSection>)[] = [
  (ctx) => runSection(stagesSection, ctx),
  (ctx) => runSection(stepsSection, ctx),
  (ctx) => runSection(lineageSection, ctx),
  (ctx) => runSection(visionSection, ctx),
  (ctx) => runSection(qaSection, ctx),
  (ctx) => runSection(trainingSection, ctx),
];
