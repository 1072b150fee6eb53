import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, exists, stepOutputDir, WORK_DIR, writeJsonAtomic, type JsonValue } from "@lwm/core";
import { DocumentsIndex, ExamplesIndex, formatZodError, INDEX_FILE, type DocumentRecord, type SourcedExample } from "@lwm/schemas";
import type { z } from "zod";
import { readDocumentsFile } from "./documents-file.js";
import { readExamplesFile } from "./examples-file.js";

/** The name of data file i of an examples or documents folder: part-00000.arrow … */
export function partFileName(index: number): string {
  return `part-${String(index).padStart(5, "0")}.arrow`;
}

async function readIndex<T extends z.ZodType>(schema: T, dir: string): Promise<z.infer<T>> {
  const path = join(dir, INDEX_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, path));
  return parsed.data;
}

async function writeIndex<T extends z.ZodType>(schema: T, dir: string, index: z.infer<T>): Promise<void> {
  const parsed = schema.safeParse(index);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, join(dir, INDEX_FILE)));
  await writeJsonAtomic(join(dir, INDEX_FILE), parsed.data as JsonValue);
}

export function readExamplesIndex(dir: string): Promise<ExamplesIndex> {
  return readIndex(ExamplesIndex, dir);
}

/** Checks `index` against ExamplesIndex and writes <dir>/index.json atomically. */
export function writeExamplesIndex(dir: string, index: ExamplesIndex): Promise<void> {
  return writeIndex(ExamplesIndex, dir, index);
}

export function readDocumentsIndex(dir: string): Promise<DocumentsIndex> {
  return readIndex(DocumentsIndex, dir);
}

/** Checks `index` against DocumentsIndex and writes <dir>/index.json atomically. */
export function writeDocumentsIndex(dir: string, index: DocumentsIndex): Promise<void> {
  return writeIndex(DocumentsIndex, dir, index);
}

/**
 * The examples of one stage folder (work/<step>/examples/<stage>/) in their stable order: parts as
 * index.json lists them, rows in file order. With `source`, only that source's parts.
 */
export async function* readStageExamples(dir: string, options: { source?: string } = {}): AsyncGenerator<SourcedExample> {
  const index = await readExamplesIndex(dir);
  for (const part of index.parts) {
    if (options.source !== undefined && part.source !== options.source) continue;
    const path = join(dir, part.file);
    for await (const example of readExamplesFile(path)) {
      if (example.source !== part.source)
        throw new Error(`${path}: example ${example.exampleId} has source "${example.source}", but index.json lists the file under "${part.source}"`);
      yield example;
    }
  }
}

/** The step that publishes the cleaned documents later steps read (work/books/documents/). */
export const DOCUMENTS_STEP = "books";

/** The published documents a step reads, as opened by `openPublishedDocuments`. */
export interface PublishedDocuments {
  /** work/books/documents/ */
  dir: string;
  index: DocumentsIndex;
  /** Each part as a step input, path relative to work/ (for the step report's lineage). */
  inputs: { path: string; bytes: number; sha256: string }[];
}

/**
 * The books step's published documents, for a step that reads them (qa, recall), checked against
 * the recipe's tokenizer. Missing documents are a ConfigError on `field` (the source that needs
 * them), so the run stops before any work of the reading step.
 */
export async function openPublishedDocuments(outDir: string, tokenizerSha256: string, field: string): Promise<PublishedDocuments> {
  const dir = stepOutputDir(outDir, DOCUMENTS_STEP, "documents");
  if (!(await exists(join(dir, INDEX_FILE)))) throw new ConfigError(field, `no documents at ${dir}: run (and finalize) the books step first`);
  const index = await readDocumentsIndex(dir);
  if (index.tokenizerSha256 !== tokenizerSha256) {
    throw new ConfigError(
      "tokenizer",
      `the books documents were tokenized with ${index.tokenizerSha256.slice(0, 12)}, the recipe's tokenizer is ${tokenizerSha256.slice(0, 12)}: rerun the books step`,
    );
  }
  const inputs = index.parts.map((p) => ({ path: `${DOCUMENTS_STEP}/documents/${p.file}`, bytes: p.bytes, sha256: p.sha256 }));
  return { dir, index, inputs };
}

/** The documents of a documents folder (work/<step>/documents/), parts in index order. */
export async function* readDocuments(dir: string): AsyncGenerator<DocumentRecord> {
  const index = await readDocumentsIndex(dir);
  for (const part of index.parts) yield* readDocumentsFile(join(dir, part.file));
}

/** One producing step's examples of one stage. */
export interface StageExamples {
  step: string;
  /** work/<step>/examples/<stage>/ */
  dir: string;
  index: ExamplesIndex;
}

/**
 * Every published examples folder of `stage` under `outDir`, by source name: whichever step made
 * them (work/<step>/examples/<stage>/index.json). Two steps that both claim a source are an error,
 * naming both folders.
 */
export async function findStageExamples(outDir: string, stage: string): Promise<Map<string, StageExamples>> {
  const work = join(outDir, WORK_DIR);
  const bySource = new Map<string, StageExamples>();
  if (!(await exists(work))) return bySource;
  const steps = (await readdir(work, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const step of steps) {
    const dir = stepOutputDir(outDir, step, "examples", stage);
    if (!(await exists(join(dir, INDEX_FILE)))) continue;
    const index = await readExamplesIndex(dir);
    if (index.stage !== stage) throw new Error(`${join(dir, INDEX_FILE)}: stage is "${index.stage}", expected "${stage}"`);
    for (const source of index.sources) {
      const other = bySource.get(source);
      if (other) throw new Error(`source "${source}" of stage "${stage}" has examples from two steps: ${other.dir} and ${dir}`);
      bySource.set(source, { step, dir, index });
    }
  }
  return bySource;
}
