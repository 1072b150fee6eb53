import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { exists, linkOrCopy, publishDir, sha256File, stepOutputDir, type CompletedUnit, type FinalizeOutcome, type StepPlan } from "@lwm/core";
import { EXAMPLES_FORMAT, INDEX_FILE, type ExamplesIndex, type Stage } from "@lwm/schemas";
import { z } from "zod";
import { partFileName, writeExamplesIndex } from "./step-outputs.js";

/** What every stage folder of one producing step states alike: who made it, with which tokenizer and VQ model. */
export type ExamplesHeader = Pick<ExamplesIndex, "step" | "stepVersion" | "tokenDtype" | "tokenizerSha256" | "vqganSha256">;

/** What one part file holds, as index.json lists it (less its file name and source). */
export type ExamplesPartCounts = Omit<ExamplesIndex["parts"][number], "file" | "source">;

/** One part of a stage folder: `write` puts its file at `to` and says what it holds, or null when it holds no example (then it is not listed). */
export interface StagePart {
  source: string;
  write: (to: string) => Promise<ExamplesPartCounts | null>;
}

/** One stage folder to publish: the sources it covers and its parts, in order. */
export interface StagePlan {
  name: string;
  seqLen: number;
  sources: string[];
  parts: Iterable<StagePart>;
}

/**
 * A unit's examples file as a part, linked as it is: counts from the unit's result, size and sha256
 * from its record. Null (no part) when the unit made no example or wrote no file.
 */
export function unitExamplesPart(
  unit: CompletedUnit,
  file: string,
  source: string,
  made: Pick<ExamplesPartCounts, "examples" | "tokens" | "lossTokens">,
): StagePart {
  return {
    source,
    write: async (to) => {
      const from = join(unit.dir, file);
      if (made.examples === 0 || !(await exists(from))) return null;
      const record = unit.record.files.find((f) => f.name === file);
      if (!record) throw new Error(`unit ${unit.unit.key} has no ${file} in its record`);
      await linkOrCopy(from, to);
      return { examples: made.examples, tokens: made.tokens, lossTokens: made.lossTokens, bytes: record.bytes, sha256: record.sha256 };
    },
  };
}

/** The result of a unit that writes one examples file (qa's assemble units, recall's plant units). */
export const ExamplesUnitResult = z.object({ examples: z.number().int(), tokens: z.number().int(), lossTokens: z.number().int() });

/** A planned unit that writes `stage`'s examples of `source` as one file of its folder and reports an ExamplesUnitResult. */
export interface StageExamplesUnit {
  key: string;
  stage: string;
  source: string;
}

/**
 * The stage plans of a step whose units each write one stage's examples of one source: every stage
 * that mixes in one of `sources`, with those sources, and the parts of its units in plan order.
 */
export function stagePlansOfUnits(
  stages: readonly Pick<Stage, "name" | "seqLen" | "mixture">[],
  sources: readonly string[],
  units: readonly StageExamplesUnit[],
  completed: readonly CompletedUnit[],
  file: string,
): StagePlan[] {
  const byKey = new Map(completed.map((c) => [c.unit.key, c]));
  return stages
    .filter((stage) => sources.some((s) => s in stage.mixture))
    .map((stage) => ({
      name: stage.name,
      seqLen: stage.seqLen,
      sources: sources.filter((s) => s in stage.mixture),
      parts: units
        .filter((u) => u.stage === stage.name)
        .map((u) => {
          const unit = byKey.get(u.key);
          if (!unit) throw new Error(`unit ${u.key} (source ${u.source}, stage ${stage.name}) did not complete`);
          return unitExamplesPart(unit, file, u.source, ExamplesUnitResult.parse(unit.record.result));
        }),
    }));
}

/**
 * Publishes a producing step's examples (work/<step>/examples/<stage>/, schemas/EXAMPLES.md) in one
 * swap: per stage, its parts as part-00000.arrow … and an index.json that totals them. Returns each
 * stage's index (in `stages` order) and the published files as step outputs (paths relative to the
 * step's work folder). With no stage, an earlier run's examples are removed, so pack cannot find them.
 */
export async function publishStageExamples(
  outDir: string,
  header: ExamplesHeader,
  stages: readonly StagePlan[],
): Promise<{ indexes: ExamplesIndex[]; outputs: FinalizeOutcome["outputs"] }> {
  const examplesDir = stepOutputDir(outDir, header.step, "examples");
  const indexes: ExamplesIndex[] = [];
  await publishDir(examplesDir, async (temp) => {
    for (const stage of stages) {
      const dir = join(temp, stage.name);
      await mkdir(dir);
      const parts: ExamplesIndex["parts"] = [];
      for (const part of stage.parts) {
        const file = partFileName(parts.length);
        const made = await part.write(join(dir, file));
        if (made) parts.push({ file, source: part.source, ...made });
      }
      const index: ExamplesIndex = {
        format: EXAMPLES_FORMAT,
        ...header,
        stage: stage.name,
        seqLen: stage.seqLen,
        sources: stage.sources,
        examples: parts.reduce((s, p) => s + p.examples, 0),
        tokens: parts.reduce((s, p) => s + p.tokens, 0),
        parts,
      };
      await writeExamplesIndex(dir, index);
      indexes.push(index);
    }
  });
  const outputs: FinalizeOutcome["outputs"] = [];
  for (const index of indexes) {
    const indexPath = join(examplesDir, index.stage, INDEX_FILE);
    outputs.push({ path: `examples/${index.stage}/${INDEX_FILE}`, bytes: (await stat(indexPath)).size, sha256: await sha256File(indexPath) });
    for (const p of index.parts) outputs.push({ path: `examples/${index.stage}/${p.file}`, bytes: p.bytes, sha256: p.sha256 });
  }
  return { indexes, outputs };
}

/**
 * The plan of a producing step with no source in the recipe: no unit, and a finalize that removes
 * an earlier recipe's examples of the step, so they do not linger for pack to find.
 */
export function noExamplesPlan(outDir: string, step: string): StepPlan {
  return {
    units: [],
    inputs: [],
    finalize: async () => {
      await publishDir(stepOutputDir(outDir, step, "examples"), async () => undefined);
      return { outputs: [], details: null };
    },
  };
}

/** Loss tokens of a stage's index: the sum over its parts (index.json totals examples and tokens only). */
export function lossTokensOf(index: ExamplesIndex): number {
  return index.parts.reduce((s, p) => s + p.lossTokens, 0);
}
