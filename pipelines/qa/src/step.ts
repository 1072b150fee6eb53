import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  stableStringify,
  unitKey,
  type CompletedUnit,
  type JsonValue,
  type RejectRecord,
  type Step,
  type StepContext,
  type StepPlan,
  type WorkUnit,
} from "@lwm/core";
import { charOffsetsOfBytes, chunkDocument, DEFAULT_GROUNDING, qaForChunks } from "@lwm/qa";
import { QaRecord, type DocumentRecord, type QaSource, type Recipe, type Stage, type TokenDtype } from "@lwm/schemas";
import {
  ExamplesWriter,
  lossTokensOf,
  noExamplesPlan,
  openPublishedDocuments,
  publishStageExamples,
  readDocumentsFile,
  stagePlansOfUnits,
  type StageExamplesUnit,
} from "@lwm/shards";
import { loadRecipeTokenizer, multimodalLayout, type Tokenizer } from "@lwm/tokenizer";
import { z } from "zod";
import { assembleDocument } from "./assemble.js";
import { checkGeneratorConfig, planGenerator, type PlannedGenerator } from "./generators.js";

export const QA_STEP_NAME = "qa";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const QA_STEP_VERSION = "1.0.0";

/** Files of a generate unit's folder. */
export const GENERATE_FILES = { chunks: "chunks.jsonl", qa: "qa.jsonl" } as const;
/** The examples file of an assemble unit. */
const ASSEMBLE_FILE = "examples.arrow";

/** A line of chunks.jsonl: one chunk of a document (its text is the document's chars range). */
const ChunkLine = z.object({
  id: z.string(),
  documentId: z.string(),
  index: z.number().int().nonnegative(),
  tokens: z.object({ start: z.number().int(), end: z.number().int() }),
  chars: z.object({ start: z.number().int(), end: z.number().int() }),
  bytes: z.object({ start: z.number().int(), end: z.number().int() }),
  cut: z.enum(["sentence", "hard"]),
});

/**
 * The qa step (lwm-spec §6): for every `qa` source, the documents of the books sources it names
 * (`work/books/documents/`) are cut into ≈ chunkTokens chunks at sentence ends; a generator writes
 * qaPerChunk pairs per chunk, each checked for grounding (unit `generate`, one per documents part);
 * then, per stage that mixes the source in, adjacent chunks are joined up to seqLen with their
 * questions in LWM's chat form (unit `assemble`). finalize publishes `work/qa/examples/<stage>/`.
 */
export const qaStep: Step = {
  name: QA_STEP_NAME,
  version: QA_STEP_VERSION,
  description: "qa: chunk books, generate and ground QA pairs, assemble long-context chat examples per stage",
  // Generation waits on a server or runs the engine; assembly is light. No pool workers.
  workerThreads: () => 0,
  // An unset API key variable or a missing checkpoint stops `lwm run` before the books step starts.
  preflight: async ({ recipe, recipeDir }) => {
    for (const { source, index } of qaSourcesOf(recipe)) await checkGeneratorConfig(source, index, recipeDir);
  },
  plan: planQa,
};

/** The recipe's qa sources with their indexes in recipe.sources (for error fields). */
function qaSourcesOf(recipe: Recipe): { source: QaSource; index: number }[] {
  return recipe.sources.map((source, index) => ({ source, index })).filter((s): s is { source: QaSource; index: number } => s.source.kind === "qa");
}

async function planQa(ctx: StepContext): Promise<StepPlan> {
  const { recipe } = ctx;
  const sources = qaSourcesOf(recipe);
  if (sources.length === 0) return noExamplesPlan(ctx.outDir, QA_STEP_NAME);
  const tokenizer = await loadRecipeTokenizer(ctx);
  const { tokenDtype } = multimodalLayout(tokenizer);
  const published = await openPublishedDocuments(ctx.outDir, tokenizer.sha256, `sources[${(sources[0] as { index: number }).index}].from`);
  const { dir: documentsDir, index: documents } = published;

  const units: WorkUnit[] = [];
  const assemblies: StageExamplesUnit[] = [];
  const generators = new Map<string, PlannedGenerator>();
  const inputs: StepPlan["inputs"] = [];
  inputs.push(...published.inputs);

  for (const { source, index } of sources) {
    const generator = await planGenerator({
      source,
      index,
      recipeDir: ctx.recipeDir,
      stepDir: ctx.stepDir,
      tokenizer,
      logger: ctx.logger,
      progressIntervalMs: 10_000,
    });
    generators.set(source.name, generator);
    const stages = recipe.stages.filter((s) => source.name in s.mixture);
    const generateConfig = {
      chunkTokens: source.chunkTokens,
      qaPerChunk: source.qaPerChunk,
      generator: generator.identity as unknown as JsonValue,
      grounding: DEFAULT_GROUNDING as unknown as JsonValue,
    };
    let chunksExpected = 0;
    for (const part of documents.parts) {
      if (!part.sources.some((s) => source.from.includes(s))) continue;
      chunksExpected += Math.ceil(part.tokens / source.chunkTokens);
      const partPath = join(documentsDir, part.file);
      const generateKey = unitKey({
        step: QA_STEP_NAME,
        version: QA_STEP_VERSION,
        kind: "generate",
        config: generateConfig,
        inputs: [part.sha256, ...(generator.contentHash ? [generator.contentHash] : [])],
      });
      const group = `${source.name}/${part.file}`;
      units.push({
        key: generateKey,
        label: `generate ${source.name} ${part.file}`,
        group,
        size: part.tokens,
        execute: (dir) => generateUnit(dir, partPath, source, generator),
      });
      for (const stage of stages) {
        const assembleConfig = {
          source: source.name,
          // Two stages with the same settings (a control beside a progressive stage) are two units.
          stage: stage.name,
          seqLen: stage.seqLen,
          minTokens: stage.minTokens,
          maxTokens: stage.maxTokens ?? null,
          questionsPerExample: source.questionsPerExample,
          seed: source.seed,
          bosId: tokenizer.bosId,
          eosId: tokenizer.eosId,
          tokenDtype,
          tokenizer: tokenizer.sha256,
        };
        const key = unitKey({ step: QA_STEP_NAME, version: QA_STEP_VERSION, kind: "assemble", config: assembleConfig, inputs: [generateKey, part.sha256] });
        assemblies.push({ key, stage: stage.name, source: source.name });
        units.push({
          key,
          label: `assemble ${source.name} ${part.file} ${stage.name} (seqLen ${stage.seqLen})`,
          group,
          dependsOn: [generateKey],
          size: 0,
          execute: (dir, unitDirs) => assembleUnit(dir, unitDirs.get(generateKey) as string, partPath, source, stage, tokenizer, tokenDtype),
        });
      }
    }
    generator.expect(chunksExpected);
  }

  return {
    units,
    inputs,
    finalize: async (completed) => {
      try {
        return await finalizeQa(
          ctx,
          completed,
          assemblies,
          recipe.stages,
          sources.map((s) => s.source),
          generators,
          { tokenDtype, tokenizerSha256: tokenizer.sha256 },
        );
      } finally {
        for (const g of generators.values()) await g.close();
      }
    },
  };
}

/** The documents of one part file, in order. */
async function documentsOf(partPath: string): Promise<DocumentRecord[]> {
  const out: DocumentRecord[] = [];
  for await (const d of readDocumentsFile(partPath)) out.push(d);
  return out;
}

function fileOf(doc: DocumentRecord): string {
  return "file" in doc.provenance ? doc.provenance.file : doc.documentId;
}

async function generateUnit(dir: string, partPath: string, source: QaSource, planned: PlannedGenerator) {
  const metrics = { documents: 0, chunks: 0, pairsAsked: 0, pairsAccepted: 0, pairsRejected: 0 };
  const rejects: RejectRecord[] = [];
  await appendFile(join(dir, GENERATE_FILES.chunks), "");
  await appendFile(join(dir, GENERATE_FILES.qa), "");
  const generator = await planned.open();
  try {
    for (const doc of await documentsOf(partPath)) {
      const tokenStarts = charOffsetsOfBytes(doc.text, doc.tokenStarts);
      const chunks = chunkDocument({ documentId: doc.documentId, text: doc.text, tokenStarts }, source.chunkTokens);
      const { accepted, rejected } = await qaForChunks(generator, chunks, source.qaPerChunk, { judge: source.judge });
      metrics.documents += 1;
      metrics.chunks += chunks.length;
      metrics.pairsAsked += chunks.length * source.qaPerChunk;
      metrics.pairsAccepted += accepted.length;
      metrics.pairsRejected += rejected.length;
      const lines = chunks.map(({ text: _text, ...c }) => `${stableStringify(c as unknown as JsonValue)}\n`);
      await appendFile(join(dir, GENERATE_FILES.chunks), lines.join(""));
      const records: QaRecord[] = accepted.map((r) => QaRecord.parse({ ...r, documentId: doc.documentId }));
      await appendFile(join(dir, GENERATE_FILES.qa), records.map((r) => `${stableStringify(r as unknown as JsonValue)}\n`).join(""));
      for (const r of rejected) {
        // The chunk's bytes are a range of the cleaned text, not of the raw file: they go in the reason.
        const bytes = chunks.find((c) => c.id === r.chunkId)?.bytes;
        const where = `[source ${source.name}, document ${doc.documentId}, chunk ${r.chunkId}${bytes ? ` (text bytes ${bytes.start}-${bytes.end})` : ""}, pair ${r.pairIndex}]`;
        rejects.push({ source: fileOf(doc), position: {}, reason: `${r.reason} ${where}` });
      }
    }
  } finally {
    await planned.release(generator);
  }
  return { result: metrics, rejects, metrics };
}

async function readJsonLines<T>(path: string, schema: z.ZodType<T>): Promise<T[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line, i) => {
      const parsed = schema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}: line ${i + 1}: ${parsed.error.message}`);
      return parsed.data;
    });
}

async function assembleUnit(dir: string, generateDir: string, partPath: string, source: QaSource, stage: Stage, tokenizer: Tokenizer, tokenDtype: TokenDtype) {
  const chunks = await readJsonLines(join(generateDir, GENERATE_FILES.chunks), ChunkLine);
  const qa = await readJsonLines(join(generateDir, GENERATE_FILES.qa), QaRecord);
  const metrics = { examples: 0, tokens: 0, lossTokens: 0, questions: 0, documents: 0 };
  const rejects: RejectRecord[] = [];
  const writer = new ExamplesWriter(join(dir, ASSEMBLE_FILE), { tokenDtype });
  try {
    for (const doc of await documentsOf(partPath)) {
      const n = doc.tokens.length;
      if (n < stage.minTokens || (stage.maxTokens !== undefined && n > stage.maxTokens)) continue;
      metrics.documents += 1;
      const { examples, rejects: dropped } = await assembleDocument(
        {
          documentId: doc.documentId,
          file: fileOf(doc),
          tokens: doc.tokens,
          chunks: chunks
            .filter((c) => c.documentId === doc.documentId)
            .map((c) => ({ id: c.id, tokens: c.tokens, text: doc.text.slice(c.chars.start, c.chars.end) })),
          qa: qa.filter((r) => r.documentId === doc.documentId),
        },
        {
          seqLen: stage.seqLen,
          questionsPerExample: source.questionsPerExample,
          seed: source.seed,
          bosId: tokenizer.bosId,
          eosId: tokenizer.eosId,
          encode: (t) => tokenizer.encode(t),
        },
      );
      for (const e of examples) {
        writer.append({
          exampleId: e.exampleId,
          task: "qa-chat",
          source: source.name,
          documentId: doc.documentId,
          tokens: e.tokens,
          vision: new Uint8Array(e.tokens.length),
          loss: e.loss,
          provenance: e.provenance,
        });
        metrics.examples += 1;
        metrics.tokens += e.tokens.length;
        metrics.questions += e.provenance.qaIds.length;
        for (const l of e.loss) metrics.lossTokens += l;
      }
      for (const r of dropped)
        rejects.push({
          source: fileOf(doc),
          position: {},
          reason: `${r.reason} [source ${source.name}, stage ${stage.name}, chunk ${r.chunkId}${r.qaId ? `, qa ${r.qaId}` : ""}]`,
        });
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { result: { examples: metrics.examples, tokens: metrics.tokens, lossTokens: metrics.lossTokens }, rejects, metrics };
}

async function finalizeQa(
  ctx: StepContext,
  completed: readonly CompletedUnit[],
  assemblies: readonly StageExamplesUnit[],
  stages: readonly Stage[],
  sources: readonly QaSource[],
  generators: ReadonlyMap<string, PlannedGenerator>,
  index: { tokenDtype: TokenDtype; tokenizerSha256: string },
) {
  const { indexes, outputs } = await publishStageExamples(
    ctx.outDir,
    { step: QA_STEP_NAME, stepVersion: QA_STEP_VERSION, ...index, vqganSha256: null },
    stagePlansOfUnits(
      stages,
      sources.map((s) => s.name),
      assemblies,
      completed,
      ASSEMBLE_FILE,
    ),
  );
  const details: Record<string, JsonValue> = {};
  for (const i of indexes) details[i.stage] = { examples: i.examples, tokens: i.tokens, lossTokens: lossTokensOf(i), parts: i.parts.length };
  const generatorDetails: Record<string, JsonValue> = {};
  for (const s of sources) {
    const g = generators.get(s.name) as PlannedGenerator;
    generatorDetails[s.name] = {
      generator: g.identity as unknown as JsonValue,
      chunkTokens: s.chunkTokens,
      qaPerChunk: s.qaPerChunk,
      questionsPerExample: s.questionsPerExample,
      counters: g.counters(),
    };
  }
  return { outputs, details: { stages: details, sources: generatorDetails } };
}
