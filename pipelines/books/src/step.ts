import { sha256File, stableStringify, unitKey, type JsonValue, type Step, type StepContext, type StepPlan, type WorkUnit } from "@lwm/core";
import type { BooksSource, Stage } from "@lwm/schemas";
import { loadRecipeTokenizer, multimodalLayout } from "@lwm/tokenizer";
import { finalizeBooks, type PlannedStage, type PlannedTokenizeUnit, type PlannedWindowUnit } from "./finalize.js";
import { emptinessProblems } from "./emptiness.js";
import { listSourceFiles } from "./inputs.js";
import { jsonlRanges } from "./sources/jsonl.js";
import { compressionOf } from "./sources/byte-stream.js";
import { rowGroupRanges } from "./sources/parquet.js";
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

  const stages: PlannedStage[] = recipe.stages.map((stage: Stage) => ({
    name: stage.name,
    seqLen: stage.seqLen,
    minTokens: stage.minTokens,
    maxTokens: stage.maxTokens,
    sources: Object.keys(stage.mixture).filter((name) => sources.some((s) => s.source.name === name)),
  }));

  const units: WorkUnit[] = [];
  const planned = new Set<string>();
  const tokenizeUnits: PlannedTokenizeUnit[] = [];
  const inputs: StepPlan["inputs"] = [];
  for (const file of files) {
    const sha256 = await sha256File(file.path);
    inputs.push({ path: file.name, bytes: file.bytes, sha256 });
    const parts: InputPart[] =
      file.format === "jsonl" && compressionOf(file.path) === "none"
        ? (await jsonlRanges(file.path, config.unitBytes)).map((range) => ({ kind: "lines", range }))
        : file.format === "parquet"
          ? (await rowGroupRanges(file.path, config.unitBytes)).map((range) => ({ kind: "rowGroups", range }))
          : [{ kind: "whole" }];
    const { source } = file;
    const recordFields = file.format === "jsonl" || file.format === "parquet";
    const fields = { text: source.textField, id: source.idField, title: source.titleField, language: source.languageField };
    for (const part of parts) {
      const spec: Omit<TokenizeSpec, "outDir"> = {
        file: { path: file.path, name: file.name, sha256, fields },
        format: file.format,
        part,
        clean: { stripGutenberg: config.stripGutenberg, minChars: config.minChars },
        ...(source.language !== undefined ? { language: source.language } : {}),
        maxDocumentBytes: config.maxDocumentBytes,
        tokenizerPath: tokenizer.path,
        tokenDtype,
        batchChars: config.tokenizeBatchChars,
      };
      const key = unitKey({
        step: BOOKS_STEP_NAME,
        version: BOOKS_STEP_VERSION,
        kind: "tokenize",
        config: {
          format: file.format,
          fields: recordFields ? fields : null,
          language: source.language ?? null,
          clean: { stripGutenberg: config.stripGutenberg, minChars: config.minChars },
          maxDocumentBytes: spec.maxDocumentBytes,
          tokenizerSha256: tokenizer.sha256,
          tokenDtype,
          batchChars: spec.batchChars,
        },
        inputs: [sha256, file.name, stableStringify(part as unknown as JsonValue)],
      });
      const label = `tokenize ${file.name}${part.kind === "lines" ? ` bytes ${part.range.start}-${part.range.end}` : part.kind === "rowGroups" ? ` row groups ${part.range.start}-${part.range.end}` : ""}`;
      // The same file part listed twice (e.g. by two sources with the same settings) is one unit,
      // and its documents count once, in every stage that takes either source.
      if (!planned.has(key)) {
        planned.add(key);
        units.push({
          key,
          label,
          group: key,
          size: part.kind === "lines" ? part.range.end - part.range.start : Math.round(file.bytes / parts.length),
          execute: async (dir) => (await ctx.pool.run(TOKENIZE_MODULE, "tokenizeUnit", { ...spec, outDir: dir })) as Awaited<ReturnType<WorkUnit["execute"]>>,
        });
      }
      const windows: PlannedWindowUnit[] = [];
      for (const stage of stages) {
        if (!stage.sources.includes(source.name)) continue;
        // The key is made of exactly the settings the unit runs on (all but its folders).
        const settings: Omit<WindowSpec, "outDir" | "documentsDir"> = {
          source: source.name,
          stage: { seqLen: stage.seqLen, minTokens: stage.minTokens, ...(stage.maxTokens !== undefined ? { maxTokens: stage.maxTokens } : {}) },
          bosId: tokenizer.bosId,
          eosId: tokenizer.eosId,
          tokenDtype,
          batchExamples: WINDOW_BATCH_EXAMPLES,
        };
        const windowKey = unitKey({
          step: BOOKS_STEP_NAME,
          version: BOOKS_STEP_VERSION,
          kind: "window",
          config: settings as unknown as JsonValue,
          inputs: [key],
        });
        windows.push({ stage: stage.name, source: source.name, key: windowKey });
        if (planned.has(windowKey)) continue; // two stages with equal settings share one unit
        planned.add(windowKey);
        units.push({
          key: windowKey,
          label: `window ${file.name} seqLen ${stage.seqLen} for ${source.name}`,
          group: key,
          dependsOn: [key],
          execute: async (dir, unitDirs) => windowUnit({ ...settings, outDir: dir, documentsDir: unitDirs.get(key) as string }),
        });
      }
      const listed = tokenizeUnits.find((t) => t.key === key);
      if (!listed) tokenizeUnits.push({ key, sourceNames: [source.name], windows });
      else {
        listed.sourceNames.push(source.name);
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
