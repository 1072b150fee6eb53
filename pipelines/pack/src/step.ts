import { createRequire } from "node:module";
import { join } from "node:path";
import {
  ConfigError,
  linkOrCopy,
  listFiles,
  publishDir,
  sha256Hex,
  stableStringify,
  unitKey,
  type JsonValue,
  type CompletedUnit,
  type Step,
  type StepContext,
  type StepPlan,
  type WorkUnit,
} from "@lwm/core";
import type { ExampleRecord, Manifest } from "@lwm/schemas";
import { defaultRowsPerBatch, findStageExamples, MANIFEST_FILE, readManifest, readStageExamples, writeManifest, type StageExamples } from "@lwm/shards";
import { loadRecipeTokenizer, multimodalLayout } from "@lwm/tokenizer";
import { packStage } from "./pack-stage.js";

export const PACK_STEP_NAME = "pack";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const PACK_STEP_VERSION = "3.0.0";
/** The lwm code version recorded in every manifest: this package's version. */
const CODE_VERSION = `lwm ${(createRequire(import.meta.url)("../package.json") as { version: string }).version}`;

/**
 * The pack step: for each training stage, mixes the upstream examples by token share, packs them
 * into rows of exactly seqLen tokens and writes Arrow shards + manifest.json. One unit per stage
 * (keyed by the stage's packing fields and the content of its examples); finalize publishes
 * `<out>/<stage>/` atomically.
 */
export const packStep: Step = {
  name: PACK_STEP_NAME,
  version: PACK_STEP_VERSION,
  description: "pack: token-share mixing and masked best-fit packing into Arrow shards per stage",
  // Packing is one sequential stream per stage; no pool workers.
  workerThreads: () => 0,
  plan: planPack,
};

async function planPack(ctx: StepContext): Promise<StepPlan> {
  const { recipe } = ctx;
  const config = recipe.steps.pack;
  const tokenizer = await loadRecipeTokenizer(ctx);
  const layout = multimodalLayout(tokenizer);
  const recipeId = { name: recipe.name, sha256: sha256Hex(stableStringify(recipe as unknown as JsonValue)) };

  const units: WorkUnit[] = [];
  const stageOfUnit = new Map<string, string>();
  const inputs: StepPlan["inputs"] = [];
  for (const [i, stage] of recipe.stages.entries()) {
    // Each mixture source's examples, from whichever step published them for this stage.
    const found = await findStageExamples(ctx.outDir, stage.name).catch((err: unknown) => {
      throw new ConfigError(`stages[${i}]`, err instanceof Error ? err.message : String(err));
    });
    const producers = new Map<string, StageExamples>();
    for (const source of Object.keys(stage.mixture)) {
      const examples = found.get(source);
      if (!examples) {
        throw new ConfigError(
          `stages[${i}].mixture.${source}`,
          `no step has published examples of source "${source}" for stage "${stage.name}" (work/<step>/examples/${stage.name}/ under ${ctx.outDir}): run (and finalize) the step that produces it first`,
        );
      }
      if (examples.index.seqLen !== stage.seqLen) {
        throw new ConfigError(
          `stages[${i}].seqLen`,
          `the ${examples.step} step made the examples of "${source}" for seqLen ${examples.index.seqLen}, the stage has ${stage.seqLen}: rerun ${examples.step}`,
        );
      }
      if (examples.index.tokenizerSha256 !== tokenizer.sha256) {
        throw new ConfigError(
          "tokenizer",
          `the ${examples.step} step tokenized "${source}" with tokenizer ${examples.index.tokenizerSha256.slice(0, 12)}, the recipe's is ${tokenizer.sha256.slice(0, 12)}: rerun ${examples.step}`,
        );
      }
      producers.set(source, examples);
    }
    const files: { path: string; bytes: number; sha256: string }[] = [];
    for (const examples of new Set(producers.values())) files.push(...(await listFiles(examples.dir, `${examples.step}/${stage.name}`)));
    inputs.push(...files);
    const vqgans = new Set([...producers.values()].flatMap((p) => (p.index.vqganSha256 === null ? [] : [p.index.vqganSha256])));
    if (vqgans.size > 1) throw new ConfigError(`stages[${i}].mixture`, `the stage's sources were encoded with ${vqgans.size} different VQGAN models`);
    const vqganSha256 = [...vqgans][0] ?? null;
    const lineageSteps = [
      ...[...new Set(producers.values())].map((p) => ({ name: p.index.step, version: p.index.stepVersion })),
      { name: PACK_STEP_NAME, version: PACK_STEP_VERSION },
    ];
    const rowsPerBatch = config.rowsPerBatch > 0 ? config.rowsPerBatch : defaultRowsPerBatch(stage.seqLen);
    const packed = { name: stage.name, kind: stage.kind, seqLen: stage.seqLen, mixture: stage.mixture, budgetTokens: stage.budgetTokens ?? null };
    const key = unitKey({
      step: PACK_STEP_NAME,
      version: PACK_STEP_VERSION,
      kind: "stage",
      config: {
        stage: packed,
        rowsPerBatch,
        rowsPerShard: config.rowsPerShard,
        layout: layout.layout,
        tokenizer: tokenizer.sha256,
        codeVersion: CODE_VERSION,
        steps: lineageSteps,
      },
      inputs: files.map((f) => `${f.path}:${f.sha256}`),
    });
    stageOfUnit.set(key, stage.name);
    units.push({
      key,
      label: `pack ${stage.name} (seqLen ${stage.seqLen})`,
      group: stage.name,
      size: [...new Set(producers.values())].reduce((sum, p) => sum + p.index.tokens, 0),
      execute: async (unitDir) => {
        const manifest = await packStage({
          stage,
          sources: examplesBySource(producers),
          layout,
          tokenizerSha256: tokenizer.sha256,
          vqganSha256,
          rowsPerBatch,
          rowsPerShard: config.rowsPerShard,
          dir: unitDir,
          lineage: {
            recipe: recipeId,
            steps: lineageSteps,
            codeVersion: CODE_VERSION,
          },
        });
        const t = manifest.totals;
        ctx.logger.info(`${stage.name}: ${t.rows} rows in ${manifest.shards.length} shards, fill ${(100 * t.fill).toFixed(1)}%, ${t.segments} segments`);
        return {
          result: { stage: stage.name, shards: manifest.shards.length, ...t },
          metrics: { rows: t.rows, tokens: t.tokens, realTokens: t.realTokens, lossTokens: t.lossTokens, segments: t.segments },
        };
      },
    });
  }

  return {
    units,
    inputs,
    finalize: async (completed: readonly CompletedUnit[]) => {
      const outputs: { path: string; bytes: number; sha256: string }[] = [];
      const details: Record<string, Manifest["totals"]> = {};
      for (const { unit, dir } of completed) {
        const stageName = stageOfUnit.get(unit.key);
        if (stageName === undefined) throw new Error(`pack finalize: unit ${unit.label} is not one this plan made`);
        const target = join(ctx.outDir, stageName);
        await publishDir(target, async (temp) => {
          for (const f of await listFiles(dir)) if (f.path.endsWith(".arrow")) await linkOrCopy(join(dir, f.path), join(temp, f.path));
          // A unit is keyed by what shapes its shards, not by the whole recipe: the manifest names the recipe of this run.
          const manifest = await readManifest(join(dir, MANIFEST_FILE));
          await writeManifest(temp, manifest.formatVersion === 1 ? manifest : { ...manifest, recipe: recipeId });
        });
        outputs.push(...(await listFiles(target, stageName)));
        details[stageName] = (await readManifest(join(target, MANIFEST_FILE))).totals;
      }
      return { outputs, details };
    },
  };
}

/** Each source of the stage's mixture as its own example stream. */
function examplesBySource(producers: ReadonlyMap<string, StageExamples>): Map<string, AsyncIterable<ExampleRecord>> {
  return new Map([...producers].map(([source, { dir }]) => [source, readStageExamples(dir, { source })]));
}
