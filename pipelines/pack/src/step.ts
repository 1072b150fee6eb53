import { join } from "node:path";
import { BOOKS_OUTPUTS, BOOKS_STEP_NAME, loadRecipeTokenizer, readExamples, readExamplesIndex } from "@lwm/books";
import { ConfigError, exists, linkOrCopy, listFiles, publishDir, unitKey, type CompletedUnit, type Step, type StepContext, type StepPlan, type WorkUnit } from "@lwm/core";
import type { ExampleRecord, Manifest, Stage } from "@lwm/schemas";
import { defaultRowsPerBatch, MANIFEST_FILE, readManifest } from "@lwm/shards";
import { multimodalLayout } from "@lwm/tokenizer";
import { packStage } from "./pack-stage.js";

export const PACK_STEP_NAME = "pack";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const PACK_STEP_VERSION = "1.0.0";

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
  const examplesRoot = join(ctx.outDir, "work", BOOKS_STEP_NAME, BOOKS_OUTPUTS.examples);

  const units: WorkUnit[] = [];
  const stageOfUnit = new Map<string, string>();
  const inputs: StepPlan["inputs"] = [];
  for (const [i, stage] of recipe.stages.entries()) {
    const dir = join(examplesRoot, stage.name);
    if (!(await exists(join(dir, "index.json")))) {
      throw new ConfigError(`stages[${i}]`, `no examples for stage "${stage.name}" at ${dir}: run (and finalize) the books step first`);
    }
    const index = await readExamplesIndex(dir);
    for (const source of Object.keys(stage.mixture)) {
      if (!index.sources.includes(source)) throw new ConfigError(`stages[${i}].mixture.${source}`, `the books step produced no examples of source "${source}" for this stage`);
    }
    const files = await listFiles(dir);
    inputs.push(...files.map((f) => ({ ...f, path: join(stage.name, f.path) })));
    const rowsPerBatch = config.rowsPerBatch > 0 ? config.rowsPerBatch : defaultRowsPerBatch(stage.seqLen);
    const packed = { name: stage.name, seqLen: stage.seqLen, mixture: stage.mixture, budgetTokens: stage.budgetTokens ?? null };
    const key = unitKey({
      step: PACK_STEP_NAME,
      version: PACK_STEP_VERSION,
      kind: "stage",
      config: { stage: packed, rowsPerBatch, rowsPerShard: config.rowsPerShard, layout: layout.layout, tokenizer: tokenizer.sha256 },
      inputs: files.map((f) => `${f.path}:${f.sha256}`),
    });
    stageOfUnit.set(key, stage.name);
    units.push({
      key,
      label: `pack ${stage.name} (seqLen ${stage.seqLen})`,
      group: stage.name,
      size: index.tokens,
      execute: async (unitDir) => {
        const manifest = await packStage({
          stage,
          sources: examplesBySource(dir, stage),
          layout,
          tokenizerSha256: tokenizer.sha256,
          vqganSha256: null,
          rowsPerBatch,
          rowsPerShard: config.rowsPerShard,
          dir: unitDir,
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
          for (const f of await listFiles(dir)) {
            if (f.path === MANIFEST_FILE || f.path.endsWith(".arrow")) await linkOrCopy(join(dir, f.path), join(temp, f.path));
          }
        });
        outputs.push(...(await listFiles(target, stageName)));
        details[stageName] = (await readManifest(join(target, MANIFEST_FILE))).totals;
      }
      return { outputs, details };
    },
  };
}

/** Each source of the stage's mixture as its own example stream. */
function examplesBySource(dir: string, stage: Stage): Map<string, AsyncIterable<ExampleRecord>> {
  return new Map(Object.keys(stage.mixture).map((source) => [source, readExamples(dir, { source })]));
}


