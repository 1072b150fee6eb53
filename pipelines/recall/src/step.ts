import { join } from "node:path";
import { unitKey, type CompletedUnit, type JsonValue, type Step, type StepContext, type StepPlan, type WorkUnit } from "@lwm/core";
import type { RecallSource, Stage, TokenDtype } from "@lwm/schemas";
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
import { sentenceEndIds } from "@lwm/trainer";
import { recallExamples } from "./plant.js";

export const RECALL_STEP_NAME = "recall";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const RECALL_STEP_VERSION = "3.0.0";
const UNIT_FILE = "examples.arrow";

/**
 * The recall step: for every `recall` source and every stage that mixes it in, one unit per
 * documents part of the books step plants training-pool facts in spans of its documents
 * (plant.ts) and writes them as examples; finalize publishes `work/recall/examples/<stage>/`.
 * It reads only `work/books/documents/`, so which books it sees is the recipe's books sources' choice:
 * a book held out of them for the needle haystack never reaches this step.
 */
export const recallStep: Step = {
  name: RECALL_STEP_NAME,
  version: RECALL_STEP_VERSION,
  description: "recall: plant facts in book spans and ask for them at the end (the needle's training twin)",
  workerThreads: () => 0,
  plan: planRecall,
};

async function planRecall(ctx: StepContext): Promise<StepPlan> {
  const sources = ctx.recipe.sources
    .map((source, index) => ({ source, index }))
    .filter((s): s is { source: RecallSource; index: number } => s.source.kind === "recall");
  if (sources.length === 0) return noExamplesPlan(ctx.outDir, RECALL_STEP_NAME);
  const tokenizer = await loadRecipeTokenizer(ctx);
  const { tokenDtype } = multimodalLayout(tokenizer);
  const published = await openPublishedDocuments(ctx.outDir, tokenizer.sha256, `sources[${(sources[0] as { index: number }).index}].from`);
  const { dir: documentsDir, index: documents } = published;
  let sentenceEnds: Set<number> | undefined;
  const ends = () => (sentenceEnds ??= sentenceEndIds(tokenizer));

  const units: WorkUnit[] = [];
  const planned: StageExamplesUnit[] = [];
  const inputs: StepPlan["inputs"] = published.inputs;
  for (const { source } of sources) {
    for (const stage of ctx.recipe.stages.filter((s) => source.name in s.mixture)) {
      for (const part of documents.parts) {
        if (!part.sources.some((s) => source.from.includes(s))) continue;
        const config = {
          source: { ...source } as unknown as JsonValue,
          stage: stage.name,
          seqLen: stage.seqLen,
          minTokens: stage.minTokens,
          maxTokens: stage.maxTokens ?? null,
          tokenizer: tokenizer.sha256,
          tokenDtype,
        };
        const key = unitKey({ step: RECALL_STEP_NAME, version: RECALL_STEP_VERSION, kind: "plant", config, inputs: [part.sha256] });
        planned.push({ key, stage: stage.name, source: source.name });
        units.push({
          key,
          label: `plant ${source.name} ${part.file} ${stage.name} (seqLen ${stage.seqLen})`,
          group: `${source.name}/${part.file}`,
          size: part.tokens,
          execute: (dir) => plantUnit(dir, join(documentsDir, part.file), source, stage, tokenizer, tokenDtype, ends()),
        });
      }
    }
  }
  return {
    units,
    inputs,
    finalize: (completed) =>
      finalizeRecall(
        ctx,
        completed,
        planned,
        sources.map((s) => s.source),
        { tokenDtype, tokenizerSha256: tokenizer.sha256 },
      ),
  };
}

async function plantUnit(
  dir: string,
  partPath: string,
  source: RecallSource,
  stage: Stage,
  tokenizer: Tokenizer,
  tokenDtype: TokenDtype,
  sentenceEnds: ReadonlySet<number>,
) {
  const metrics = { documents: 0, examples: 0, tokens: 0, lossTokens: 0, facts: 0 };
  const writer = new ExamplesWriter(join(dir, UNIT_FILE), { tokenDtype });
  try {
    for await (const doc of readDocumentsFile(partPath)) {
      const n = doc.tokens.length;
      if (n < stage.minTokens || (stage.maxTokens !== undefined && n > stage.maxTokens)) continue;
      metrics.documents += 1;
      const examples = await recallExamples(
        tokenizer,
        { documentId: doc.documentId, file: "file" in doc.provenance ? doc.provenance.file : undefined, tokens: Uint32Array.from(doc.tokens) },
        {
          seqLen: stage.seqLen,
          maxFacts: source.maxFacts,
          keys: source.keys,
          lengthFraction: source.lengthFraction,
          haystackTokens: source.haystackTokens,
          passes: source.passes,
          seed: source.seed,
          stage: stage.name,
          eosId: tokenizer.eosId,
          sentenceEnds,
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
        metrics.facts += e.provenance.facts.length;
        for (const l of e.loss) metrics.lossTokens += l;
      }
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { result: { examples: metrics.examples, tokens: metrics.tokens, lossTokens: metrics.lossTokens }, rejects: [], metrics };
}

async function finalizeRecall(
  ctx: StepContext,
  completed: readonly CompletedUnit[],
  planned: readonly StageExamplesUnit[],
  sources: readonly RecallSource[],
  index: { tokenDtype: TokenDtype; tokenizerSha256: string },
) {
  const { indexes, outputs } = await publishStageExamples(
    ctx.outDir,
    { step: RECALL_STEP_NAME, stepVersion: RECALL_STEP_VERSION, ...index, vqganSha256: null },
    stagePlansOfUnits(
      ctx.recipe.stages,
      sources.map((s) => s.name),
      planned,
      completed,
      UNIT_FILE,
    ),
  );
  const details: Record<string, JsonValue> = {};
  for (const i of indexes) details[i.stage] = { examples: i.examples, tokens: i.tokens, lossTokens: lossTokensOf(i) };
  return { outputs, details: { stages: details } };
}
