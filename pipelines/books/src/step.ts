import { sha256File, unitKey, type JsonValue, type Step, type StepContext, type StepPlan, type WorkUnit } from "@lwm/core";
import type { BooksSource, BooksStepConfig, Stage, TokenDtype } from "@lwm/schemas";
import { loadRecipeTokenizer, multimodalLayout } from "@lwm/tokenizer";
import { finalizeBooks, type PlannedStage, type PlannedTokenizeUnit, type PlannedWindowUnit } from "./finalize.js";
import { emptinessProblems } from "./emptiness.js";
import { listSourceFiles, type SourceFile } from "./inputs.js";
import { jsonlRanges } from "./sources/jsonl.js";
import { compressionOf } from "./sources/byte-stream.js";
import { rowGroupRanges } from "./sources/parquet.js";
import type { RecordFields } from "./sources/types.js";
import type { InputPart, TokenizeSpec } from "./tokenize-unit.js";
import { windowUnit, type WindowSpec } from "./window-unit.js";

export const BOOKS_STEP_NAME = "books";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const BOOKS_STEP_VERSION = "2.0.0";
/** Examples per record batch of an examples file (part of the window units' keys: it shapes their bytes). */
const WINDOW_BATCH_EXAMPLES = 1024;

const TOKENIZE_MODULE = new URL("./tokenize-unit.js", import.meta.url).href;

/**
 * The books step: ingest (.txt .jsonl[.gz|.zst] .parquet .epub) → clean → tokenize (one unit per
 * file part) → per-stage windows (one unit per tokenize unit and stage) → finalize (exact duplicate
 * removal; documents/ and examples/<stage>/ published in the examples contract, documents.jsonl, report details).
 */
export const booksStep: Step = {
  name: BOOKS_STEP_NAME,
  version: BOOKS_STEP_VERSION,
  description: "books: ingest, clean, tokenize and window long documents per training stage",
  workerThreads: (threads) => threads,
  // Tokenization, the bulk of the CPU work, runs on HF tokenizers' rayon pool of `threads` threads,
  // shared by all workers; a worker thread only reads, cleans and writes (a few % of the work, done
  // while its previous batch is being encoded), so the busy cores stay at about `threads`.
  nativeEnv: (threads) => ({ RAYON_NUM_THREADS: String(threads) }),
  plan: planBooks,
};

async function planBooks(ctx: StepContext): Promise<StepPlan> {
  const { recipe } = ctx;
  const config = recipe.steps.books;
  const sources = recipe.sources
    .map((source, index) => ({ source, index }))
    .filter((s): s is { source: BooksSource; index: number } => s.source.kind === "books");
  const tokenizer = await loadRecipeTokenizer(ctx);
  const { tokenDtype } = multimodalLayout(tokenizer);
  const { files, rejects: refusedInputs } = await listSourceFiles(sources, ctx.recipeDir);
  ctx.logger.info(`${files.length} input files (${files.reduce((s, f) => s + f.bytes, 0)} bytes), tokenizer ${tokenizer.sha256.slice(0, 12)}`);
  const stages = planStages(recipe.stages, sources);
  const shared = { tokenizer, tokenDtype, config };

  const units: WorkUnit[] = [];
  const planned = new Set<string>();
  const tokenizeUnits: PlannedTokenizeUnit[] = [];
  const inputs: StepPlan["inputs"] = [];
  for (const file of files) {
    const sha256 = await sha256File(file.path);
    inputs.push({ path: file.name, bytes: file.bytes, sha256 });
    const parts = await filePartsOf(file, config.unitBytes);
    for (const part of parts) {
      const tokenize = tokenizeUnitFor(ctx, file, sha256, part, parts.length, shared);
      // The same file part listed twice (e.g. by two sources with the same settings) is one unit,
      // and its documents count once, in every stage that takes either source.
      if (!planned.has(tokenize.key)) {
        planned.add(tokenize.key);
        units.push(tokenize);
      }
      const windows: PlannedWindowUnit[] = [];
      for (const stage of stages.filter((s) => s.sources.includes(file.source.name))) {
        const window = windowUnitFor(file, file.source.name, stage, tokenize.key, shared);
        windows.push({ stage: stage.name, source: file.source.name, key: window.key });
        if (planned.has(window.key)) continue; // two stages with equal settings share one unit
        planned.add(window.key);
        units.push(window);
      }
      const listed = tokenizeUnits.find((t) => t.key === tokenize.key);
      if (!listed) tokenizeUnits.push({ key: tokenize.key, sourceNames: [file.source.name], windows });
      else {
        listed.sourceNames.push(file.source.name);
        listed.windows.push(...windows);
      }
    }
  }
  return {
    units,
    inputs,
    rejects: refusedInputs,
    check: (completed) => emptinessProblems(recipe, completed, tokenizeUnits, stages),
    finalize: (completed) =>
      finalizeBooks({
        outDir: ctx.outDir,
        stepDir: ctx.stepDir,
        step: { name: BOOKS_STEP_NAME, version: BOOKS_STEP_VERSION },
        completed,
        tokenizeUnits,
        stages,
        dedup: config.dedup,
        tokenDtype,
        tokenizerSha256: tokenizer.sha256,
      }),
  };
}

/** What every unit of one plan shares: the recipe's tokenizer and the step's settings. */
interface PlanShared {
  tokenizer: Awaited<ReturnType<typeof loadRecipeTokenizer>>;
  tokenDtype: TokenDtype;
  config: BooksStepConfig;
}

/** Each stage's length limits and the books sources its mixture takes. */
function planStages(stages: readonly Stage[], sources: readonly { source: BooksSource }[]): PlannedStage[] {
  return stages.map((stage) => ({
    name: stage.name,
    seqLen: stage.seqLen,
    minTokens: stage.minTokens,
    maxTokens: stage.maxTokens,
    sources: Object.keys(stage.mixture).filter((name) => sources.some((s) => s.source.name === name)),
  }));
}

/** A file's parts, one tokenize unit each: byte ranges of a plain .jsonl, row-group ranges of a .parquet, else the whole file. */
async function filePartsOf(file: SourceFile, unitBytes: number): Promise<InputPart[]> {
  if (file.format === "jsonl" && compressionOf(file.path) === "none")
    return (await jsonlRanges(file.path, unitBytes)).map((range) => ({ kind: "lines", range }));
  if (file.format === "parquet") return (await rowGroupRanges(file.path, unitBytes)).map((range) => ({ kind: "rowGroups", range }));
  return [{ kind: "whole" }];
}

/** .txt and .epub read no record fields: one fixed value, so the source's field settings do not split their units. */
const NO_RECORD_FIELDS: RecordFields = { text: "text" };

/**
 * The tokenize unit of one file part. Its key is derived from the spec the unit runs on, minus only
 * where things are (the file's and the tokenizer's paths; the tokenizer enters by its hash), so no
 * setting can change the unit's bytes without changing its key.
 */
function tokenizeUnitFor(
  ctx: StepContext,
  file: SourceFile,
  sha256: string,
  part: InputPart,
  partCount: number,
  { tokenizer, tokenDtype, config }: PlanShared,
): WorkUnit {
  const { source } = file;
  const recordFields = file.format === "jsonl" || file.format === "parquet";
  const spec: Omit<TokenizeSpec, "outDir"> = {
    file: {
      path: file.path,
      name: file.name,
      sha256,
      fields: recordFields ? { text: source.textField, id: source.idField, title: source.titleField, language: source.languageField } : NO_RECORD_FIELDS,
    },
    format: file.format,
    part,
    clean: { stripGutenberg: config.stripGutenberg, minChars: config.minChars },
    ...(source.language !== undefined ? { language: source.language } : {}),
    maxDocumentBytes: config.maxDocumentBytes,
    tokenizerPath: tokenizer.path,
    tokenDtype,
    batchChars: config.tokenizeBatchChars,
  };
  const { file: located, tokenizerPath: _tokenizerPath, ...settings } = spec;
  const { path: _path, ...fileSettings } = located;
  const key = unitKey({
    step: BOOKS_STEP_NAME,
    version: BOOKS_STEP_VERSION,
    kind: "tokenize",
    config: { ...settings, file: fileSettings, tokenizerSha256: tokenizer.sha256 } as unknown as JsonValue,
    inputs: [sha256],
  });
  const where =
    part.kind === "lines"
      ? ` bytes ${part.range.start}-${part.range.end}`
      : part.kind === "rowGroups"
        ? ` row groups ${part.range.start}-${part.range.end}`
        : "";
  return {
    key,
    label: `tokenize ${file.name}${where}`,
    group: key,
    size: part.kind === "lines" ? part.range.end - part.range.start : Math.round(file.bytes / partCount),
    execute: async (dir) => (await ctx.pool.run(TOKENIZE_MODULE, "tokenizeUnit", { ...spec, outDir: dir })) as Awaited<ReturnType<WorkUnit["execute"]>>,
  };
}

/** The window unit cutting one tokenize unit's documents for one stage and source; keyed by exactly the settings it runs on (all but its folders). */
function windowUnitFor(file: SourceFile, source: string, stage: PlannedStage, tokenizeKey: string, { tokenizer, tokenDtype }: PlanShared): WorkUnit {
  const settings: Omit<WindowSpec, "outDir" | "documentsDir"> = {
    source,
    stage: { seqLen: stage.seqLen, minTokens: stage.minTokens, ...(stage.maxTokens !== undefined ? { maxTokens: stage.maxTokens } : {}) },
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
    tokenDtype,
    batchExamples: WINDOW_BATCH_EXAMPLES,
  };
  const key = unitKey({ step: BOOKS_STEP_NAME, version: BOOKS_STEP_VERSION, kind: "window", config: settings as unknown as JsonValue, inputs: [tokenizeKey] });
  return {
    key,
    label: `window ${file.name} seqLen ${stage.seqLen} for ${source}`,
    group: tokenizeKey,
    dependsOn: [tokenizeKey],
    execute: async (dir, unitDirs) => windowUnit({ ...settings, outDir: dir, documentsDir: unitDirs.get(tokenizeKey) as string }),
  };
}
