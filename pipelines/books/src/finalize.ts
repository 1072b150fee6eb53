import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  AtomicFileWriter,
  exists,
  linkOrCopy,
  publishDir,
  sha256File,
  stableStringify,
  writeJsonAtomic,
  type CompletedUnit,
  type FinalizeOutcome,
  type JsonValue,
  type RejectRecord,
  type UnitRecord,
} from "@lwm/core";
import { z } from "zod";
import type { TokenDtype } from "@lwm/schemas";
import { ArrowStreamFile, readArrowRows } from "./arrow-io.js";
import { DocumentEntry } from "./documents.js";
import { EXAMPLES_INDEX_FILE, type ExamplesIndex } from "./examples.js";
import { positionOf, TOKENIZE_FILES } from "./tokenize-unit.js";
import { EXAMPLES_METADATA, WINDOW_FILES } from "./window-unit.js";

/** What a window unit reports (window-unit.ts). */
const WindowResult = z.object({ examples: z.number().int().nonnegative(), exampleTokens: z.number().int().nonnegative() });

export interface PlannedStage {
  name: string;
  seqLen: number;
  minTokens: number;
  maxTokens: number | undefined;
  /** Books sources in this stage's mixture. */
  sources: string[];
}

export interface PlannedTokenizeUnit {
  key: string;
  /** Books sources that list this file part (usually one). */
  sourceNames: string[];
  /** Stage name → window unit key (only stages whose mixture has this source). */
  windowKeys: Map<string, string>;
}

export interface FinalizeInput {
  stepDir: string;
  completed: readonly CompletedUnit[];
  tokenizeUnits: readonly PlannedTokenizeUnit[];
  stages: readonly PlannedStage[];
  dedup: boolean;
  index: { tokenDtype: TokenDtype; tokenizerSha256: string; bosId: number; eosId: number };
}

/** Files the books step publishes in <out>/work/books/. */
export const BOOKS_OUTPUTS = { examples: "examples", documents: "documents.jsonl" } as const;

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
 * any slicing gives the same answer), the published examples per stage, the documents index and
 * the report's per-stage "data available".
 */
export async function finalizeBooks(input: FinalizeInput): Promise<FinalizeOutcome> {
  const dirOf = new Map(input.completed.map((c) => [c.unit.key, c.dir]));
  const recordOf = new Map(input.completed.map((c) => [c.unit.key, c.record]));
  const documentsOf = new Map<string, DocumentEntry[]>();
  for (const t of input.tokenizeUnits) {
    const text = await readFile(join(dirOf.get(t.key) as string, TOKENIZE_FILES.documents), "utf8");
    documentsOf.set(
      t.key,
      text.split("\n").filter(Boolean).map((line) => DocumentEntry.parse(JSON.parse(line))),
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

  const stageDetails: Record<string, JsonValue> = {};
  const stageOutputs: FinalizeOutcome["outputs"] = [];
  await publishDir(join(input.stepDir, BOOKS_OUTPUTS.examples), async (temp) => {
    for (const stage of input.stages) {
      const dir = join(temp, stage.name);
      await mkdir(dir);
      const parts: ExamplesIndex["parts"] = [];
      let documents = 0;
      for (const t of input.tokenizeUnits) {
        const windowKey = t.windowKeys.get(stage.name);
        if (!windowKey) continue;
        const docs = documentsOf.get(t.key) ?? [];
        documents += docs.filter((d) => !duplicateOf.has(d.documentId) && inStage(d.tokens, stage)).length;
        const from = join(dirOf.get(windowKey) as string, WINDOW_FILES.examples);
        if (!(await exists(from))) continue;
        const file = `part-${String(parts.length).padStart(5, "0")}.arrow`;
        const to = join(dir, file);
        if (docs.some((d) => duplicateOf.has(d.documentId))) {
          const counts = await writeWithout(from, to, duplicateOf, input.index.tokenDtype);
          if (counts.examples === 0) continue;
          parts.push({ file, source: t.sourceNames.join(","), ...counts, bytes: (await stat(to)).size, sha256: await sha256File(to) });
        } else {
          // Unchanged: the window unit's own file (its record already holds counts, size and sha256).
          const record = recordOf.get(windowKey) as UnitRecord;
          const made = WindowResult.parse(record.result);
          const fileRecord = record.files.find((f) => f.name === WINDOW_FILES.examples) as UnitRecord["files"][number];
          await linkOrCopy(from, to);
          parts.push({ file, source: t.sourceNames.join(","), examples: made.examples, tokens: made.exampleTokens, bytes: fileRecord.bytes, sha256: fileRecord.sha256 });
        }
      }
      const index: ExamplesIndex = {
        format: EXAMPLES_METADATA.format,
        stage: stage.name,
        seqLen: stage.seqLen,
        minTokens: stage.minTokens,
        maxTokens: stage.maxTokens ?? null,
        ...input.index,
        lossRule: EXAMPLES_METADATA.lossRule,
        sources: stage.sources,
        documents,
        examples: parts.reduce((s, p) => s + p.examples, 0),
        tokens: parts.reduce((s, p) => s + p.tokens, 0),
        parts,
      };
      await writeJsonAtomic(join(dir, EXAMPLES_INDEX_FILE), index as unknown as JsonValue);
      const indexPath = join(dir, EXAMPLES_INDEX_FILE);
      const folder = `${BOOKS_OUTPUTS.examples}/${stage.name}`;
      stageOutputs.push({ path: `${folder}/${EXAMPLES_INDEX_FILE}`, bytes: (await stat(indexPath)).size, sha256: await sha256File(indexPath) });
      for (const p of parts) stageOutputs.push({ path: `${folder}/${p.file}`, bytes: p.bytes, sha256: p.sha256 });
      stageDetails[stage.name] = {
        seqLen: stage.seqLen,
        minTokens: stage.minTokens,
        maxTokens: stage.maxTokens ?? null,
        documents,
        documentTokens: sumTokens(input.tokenizeUnits, documentsOf, (d, t) => t.windowKeys.has(stage.name) && !duplicateOf.has(d.documentId) && inStage(d.tokens, stage)),
        examples: index.examples,
        exampleTokens: index.tokens,
      };
    }
  });

  const writer = await AtomicFileWriter.create(join(input.stepDir, BOOKS_OUTPUTS.documents));
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
    ...stageOutputs,
    { path: BOOKS_OUTPUTS.documents, bytes: (await stat(join(input.stepDir, BOOKS_OUTPUTS.documents))).size, sha256: await sha256File(join(input.stepDir, BOOKS_OUTPUTS.documents)) },
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


/** A copy of an examples file without the rows of removed duplicate documents. */
async function writeWithout(from: string, to: string, duplicateOf: Map<string, string>, dtype: TokenDtype): Promise<{ examples: number; tokens: number }> {
  let metadata = new Map<string, string>();
  const rows: { example_id: string; document_id: string; provenance: string; tokens: Uint16Array | Uint32Array }[] = [];
  let out: ArrowStreamFile | null = null;
  let examples = 0;
  let tokens = 0;
  const flush = (): void => {
    out?.write({
      example_id: { kind: "utf8", values: rows.map((r) => r.example_id) },
      document_id: { kind: "utf8", values: rows.map((r) => r.document_id) },
      provenance: { kind: "utf8", values: rows.map((r) => r.provenance) },
      tokens: { kind: "tokens", values: rows.map((r) => r.tokens) },
    });
    rows.length = 0;
  };
  for await (const row of readArrowRows(from, (m) => (metadata = m))) {
    out ??= new ArrowStreamFile(to, dtype, metadata);
    if (duplicateOf.has(row.strings.document_id as string)) continue;
    rows.push({ example_id: row.strings.example_id as string, document_id: row.strings.document_id as string, provenance: row.strings.provenance as string, tokens: row.tokens });
    examples += 1;
    tokens += row.tokens.length;
    if (rows.length >= 1024) flush();
  }
  flush();
  await out?.close();
  return { examples, tokens };
}
