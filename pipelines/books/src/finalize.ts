import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AtomicFileWriter,
  exists,
  linkOrCopy,
  listFiles,
  publishDir,
  stableStringify,
  stepOutputDir,
  type CompletedUnit,
  type FinalizeOutcome,
  type JsonValue,
  type RejectRecord,
} from "@lwm/core";
import { z } from "zod";
import { DOCUMENTS_FORMAT, type DocumentsIndex, type ExamplesIndex, type TokenDtype } from "@lwm/schemas";
import {
  DocumentsWriter,
  ExamplesWriter,
  partFileName,
  publishStageExamples,
  readDocumentsFile,
  readExamplesFile,
  unitExamplesPart,
  writeDocumentsIndex,
  type StagePart,
} from "@lwm/shards";
import { DocumentEntry } from "./documents.js";
import { positionOf, TOKENIZE_FILES } from "./tokenize-unit.js";
import { WINDOW_FILES } from "./window-unit.js";

/** What a window unit reports (window-unit.ts). */
const WindowResult = z.object({
  examples: z.number().int().nonnegative(),
  exampleTokens: z.number().int().nonnegative(),
  lossTokens: z.number().int().nonnegative(),
});

export interface PlannedStage {
  name: string;
  seqLen: number;
  minTokens: number;
  maxTokens: number | undefined;
  /** Books sources in this stage's mixture. */
  sources: string[];
}

/** One window unit: the examples of one tokenize unit's documents for one stage and source. */
export interface PlannedWindowUnit {
  stage: string;
  source: string;
  key: string;
}

export interface PlannedTokenizeUnit {
  key: string;
  /** Books sources that list this file part (usually one). */
  sourceNames: string[];
  windows: PlannedWindowUnit[];
}

export interface FinalizeInput {
  outDir: string;
  stepDir: string;
  step: { name: string; version: string };
  completed: readonly CompletedUnit[];
  tokenizeUnits: readonly PlannedTokenizeUnit[];
  stages: readonly PlannedStage[];
  dedup: boolean;
  tokenDtype: TokenDtype;
  tokenizerSha256: string;
}

/** The list of every document read (duplicates marked), beside the published outputs: <out>/work/books/documents.jsonl. */
export const DOCUMENT_LIST_FILE = "documents.jsonl";

/** LWM's Books3 length bands (lwm-spec §5.1), for the report's "data available". */
const LWM_BANDS: [string, number, number][] = [
  ["<10K", 0, 10_000],
  ["10K-100K", 10_000, 100_000],
  ["100K-200K", 100_000, 200_000],
  ["200K-500K", 200_000, 500_000],
  ["500K-1M", 500_000, 1_000_000],
  ["1M+", 1_000_000, Number.POSITIVE_INFINITY],
];

/**
 * Everything that depends on all units together: exact duplicates (first in plan order wins, so
 * any slicing gives the same answer), the published documents and examples per stage (the
 * examples contract, schemas/EXAMPLES.md), the document list and the report's "data available".
 */
export async function finalizeBooks(input: FinalizeInput): Promise<FinalizeOutcome> {
  const completedOf = new Map(input.completed.map((c) => [c.unit.key, c]));
  const documentsOf = new Map<string, DocumentEntry[]>();
  for (const t of input.tokenizeUnits) {
    const text = await readFile(join((completedOf.get(t.key) as CompletedUnit).dir, TOKENIZE_FILES.documents), "utf8");
    documentsOf.set(
      t.key,
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => DocumentEntry.parse(JSON.parse(line))),
    );
  }

  const firstByContent = new Map<string, DocumentEntry>();
  const duplicateOf = new Map<string, string>();
  const rejects: RejectRecord[] = [];
  for (const t of input.tokenizeUnits) {
    for (const doc of documentsOf.get(t.key) ?? []) {
      const first = firstByContent.get(doc.contentSha256);
      if (input.dedup && first) {
        duplicateOf.set(doc.documentId, first.documentId);
        rejects.push({
          source: fileOf(doc.provenance),
          position: positionOf(doc.provenance),
          reason: `duplicate: same cleaned text as ${fileOf(first.provenance)} ${stableStringify(positionOf(first.provenance) as JsonValue)}`,
        });
      } else if (!first) firstByContent.set(doc.contentSha256, doc);
    }
  }
  const hasDuplicates = (t: PlannedTokenizeUnit): boolean => (documentsOf.get(t.key) ?? []).some((d) => duplicateOf.has(d.documentId));
  const header = { step: input.step.name, stepVersion: input.step.version, tokenDtype: input.tokenDtype, tokenizerSha256: input.tokenizerSha256 };

  const documentsDir = stepOutputDir(input.outDir, input.step.name, "documents");
  await publishDir(documentsDir, async (temp) => {
    const parts: DocumentsIndex["parts"] = [];
    for (const t of input.tokenizeUnits) {
      const from = join((completedOf.get(t.key) as CompletedUnit).dir, TOKENIZE_FILES.tokens);
      if (!(await exists(from))) continue;
      const file = partFileName(parts.length);
      const made = hasDuplicates(t)
        ? await copyDocumentsWithout(from, join(temp, file), duplicateOf, input.tokenDtype)
        : await linkPart(from, join(temp, file), t);
      if (made) parts.push({ file, sources: t.sourceNames, ...made });
    }
    const index: DocumentsIndex = {
      format: DOCUMENTS_FORMAT,
      ...header,
      documents: parts.reduce((s, p) => s + p.documents, 0),
      tokens: parts.reduce((s, p) => s + p.tokens, 0),
      parts,
    };
    await writeDocumentsIndex(temp, index);
  });

  /** An unchanged tokenize unit's documents file, linked; its counts from its documents list. */
  async function linkPart(from: string, to: string, t: PlannedTokenizeUnit): Promise<Omit<DocumentsIndex["parts"][number], "file" | "sources">> {
    await linkOrCopy(from, to);
    const docs = documentsOf.get(t.key) ?? [];
    const fileRecord = completedOf.get(t.key)?.record.files.find((f) => f.name === TOKENIZE_FILES.tokens);
    if (!fileRecord) throw new Error(`books finalize: unit ${t.key} has no ${TOKENIZE_FILES.tokens} in its record`);
    return { documents: docs.length, tokens: docs.reduce((s, d) => s + d.tokens, 0), bytes: fileRecord.bytes, sha256: fileRecord.sha256 };
  }

  /** A window unit's examples file as a part: as it is, or copied without the duplicates of its tokenize unit. */
  const windowPart = (t: PlannedTokenizeUnit, w: PlannedWindowUnit): StagePart => {
    const unit = completedOf.get(w.key);
    if (!unit) throw new Error(`books finalize: window unit ${w.key} did not complete`);
    if (!hasDuplicates(t)) {
      const made = WindowResult.parse(unit.record.result);
      return unitExamplesPart(unit, WINDOW_FILES.examples, w.source, { examples: made.examples, tokens: made.exampleTokens, lossTokens: made.lossTokens });
    }
    return {
      source: w.source,
      write: async (to) => {
        const from = join(unit.dir, WINDOW_FILES.examples);
        return (await exists(from)) ? copyExamplesWithout(from, to, duplicateOf, input.tokenDtype) : null;
      },
    };
  };
  const { indexes } = await publishStageExamples(
    input.outDir,
    { ...header, vqganSha256: null },
    input.stages.map((stage) => ({
      name: stage.name,
      seqLen: stage.seqLen,
      sources: stage.sources,
      parts: input.tokenizeUnits.flatMap((t) => t.windows.filter((w) => w.stage === stage.name).map((w) => windowPart(t, w))),
    })),
  );
  const stageDetails: Record<string, JsonValue> = {};
  for (const [i, stage] of input.stages.entries()) {
    const index = indexes[i] as ExamplesIndex;
    const kept = (d: DocumentEntry, t: PlannedTokenizeUnit) =>
      t.windows.some((w) => w.stage === stage.name) && !duplicateOf.has(d.documentId) && inStage(d.tokens, stage);
    stageDetails[stage.name] = {
      seqLen: stage.seqLen,
      minTokens: stage.minTokens,
      maxTokens: stage.maxTokens ?? null,
      documents: input.tokenizeUnits.reduce((n, t) => n + (documentsOf.get(t.key) ?? []).filter((d) => kept(d, t)).length, 0),
      documentTokens: sumTokens(input.tokenizeUnits, documentsOf, kept),
      examples: index.examples,
      exampleTokens: index.tokens,
    };
  }

  const writer = await AtomicFileWriter.create(join(input.stepDir, DOCUMENT_LIST_FILE));
  for (const t of input.tokenizeUnits) {
    for (const doc of documentsOf.get(t.key) ?? []) {
      const dup = duplicateOf.get(doc.documentId);
      await writer.write(`${stableStringify((dup ? { ...doc, duplicateOf: dup } : doc) as unknown as JsonValue)}\n`);
    }
  }
  await writer.commit();

  const all = input.tokenizeUnits.flatMap((t) => documentsOf.get(t.key) ?? []);
  const kept = all.filter((d) => !duplicateOf.has(d.documentId));
  const bands: Record<string, JsonValue> = {};
  for (const [name, lo, hi] of LWM_BANDS) {
    const inBand = kept.filter((d) => d.tokens >= lo && d.tokens < hi);
    bands[name] = { documents: inBand.length, tokens: inBand.reduce((s, d) => s + d.tokens, 0) };
  }
  const outputs = [
    ...(await listFiles(documentsDir, "documents")),
    ...(await listFiles(stepOutputDir(input.outDir, input.step.name, "examples"), "examples")),
    ...(await listFiles(input.stepDir)).filter((f) => f.path === DOCUMENT_LIST_FILE),
  ];
  return {
    outputs,
    rejects,
    details: {
      documents: { read: all.length, kept: kept.length, duplicates: duplicateOf.size },
      tokens: { kept: kept.reduce((s, d) => s + d.tokens, 0), all: all.reduce((s, d) => s + d.tokens, 0) },
      chars: kept.reduce((s, d) => s + d.chars, 0),
      lengthBands: bands,
      stages: stageDetails,
    },
  };
}

function fileOf(p: DocumentEntry["provenance"]): string {
  return "file" in p ? p.file : "";
}

function inStage(tokens: number, stage: PlannedStage): boolean {
  return tokens >= stage.minTokens && (stage.maxTokens === undefined || tokens <= stage.maxTokens);
}

function sumTokens(
  units: readonly PlannedTokenizeUnit[],
  documentsOf: Map<string, DocumentEntry[]>,
  keep: (d: DocumentEntry, t: PlannedTokenizeUnit) => boolean,
): number {
  let sum = 0;
  for (const t of units) for (const d of documentsOf.get(t.key) ?? []) if (keep(d, t)) sum += d.tokens;
  return sum;
}

/** A copy of an examples file without the examples of removed duplicate documents; null when none is left. */
async function copyExamplesWithout(from: string, to: string, duplicateOf: Map<string, string>, tokenDtype: TokenDtype) {
  const out = new ExamplesWriter(to, { tokenDtype });
  try {
    for await (const e of readExamplesFile(from)) if (e.documentId === null || !duplicateOf.has(e.documentId)) out.append(e);
    return await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

/** A copy of a documents file without the removed duplicate documents; null when none is left. */
async function copyDocumentsWithout(from: string, to: string, duplicateOf: Map<string, string>, tokenDtype: TokenDtype) {
  const out = new DocumentsWriter(to, { tokenDtype });
  try {
    for await (const d of readDocumentsFile(from)) if (!duplicateOf.has(d.documentId)) out.append(d);
    return await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
}
