import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { exampleIdOf, sha256Hex, stableStringify, type JsonValue, type RejectRecord, type UnitOutcome } from "@lwm/core";
import type { TokenDtype } from "@lwm/schemas";
import { loadTokenizer, type EncodedText, type Tokenizer } from "@lwm/tokenizer";
import { DocumentsWriter, type TokenArray } from "@lwm/shards";
import { cleanText, type CleanOptions } from "./clean/clean.js";
import { utf8Length } from "./clean/utf8.js";
import type { DocumentEntry } from "./documents.js";
import { readEpub } from "./sources/epub.js";
import { readJsonl, type LineRange } from "./sources/jsonl.js";
import { readParquet, type RowGroupRange } from "./sources/parquet.js";
import { readTxt } from "./sources/txt.js";
import type { InputFile, RawDocument, SourceItem } from "./sources/types.js";

export type InputFormat = "txt" | "jsonl" | "parquet" | "epub";

/** What a tokenize unit reads (its part of one input file). */
export type InputPart = { kind: "whole" } | { kind: "lines"; range: LineRange } | { kind: "rowGroups"; range: RowGroupRange };

export interface TokenizeSpec {
  /** The unit's (temp) output folder. */
  outDir: string;
  file: InputFile;
  format: InputFormat;
  part: InputPart;
  clean: CleanOptions;
  /** The source's language, for documents that don't say. */
  language?: string;
  maxDocumentBytes: number;
  tokenizerPath?: string;
  tokenDtype: TokenDtype;
  /** Characters per encodeBatch call. */
  batchChars: number;
}

/** Files of a tokenize unit's folder: document metadata, and the documents (text, tokens, offsets) in the contract's format. */
export const TOKENIZE_FILES = { documents: "documents.jsonl", tokens: "documents.arrow" } as const;

const tokenizers = new Map<string, Promise<Tokenizer>>();

/** One tokenizer per worker thread and path, kept between units. */
function tokenizerFor(path: string | undefined): Promise<Tokenizer> {
  const key = path ?? "";
  let t = tokenizers.get(key);
  if (!t) {
    t = loadTokenizer(path);
    tokenizers.set(key, t);
  }
  return t;
}

export function readerFor(spec: Pick<TokenizeSpec, "file" | "format" | "part" | "maxDocumentBytes">): AsyncGenerator<SourceItem> {
  const { file, part } = spec;
  switch (spec.format) {
    case "txt":
      return readTxt(file, spec.maxDocumentBytes);
    case "jsonl":
      return readJsonl(file, part.kind === "lines" ? part.range : undefined, spec.maxDocumentBytes);
    case "parquet":
      return readParquet(file, part.kind === "rowGroups" ? part.range : { start: 0, end: Number.MAX_SAFE_INTEGER }, spec.maxDocumentBytes);
    case "epub":
      return readEpub(file, spec.maxDocumentBytes);
  }
}

interface PendingDocument {
  entry: Omit<DocumentEntry, "tokens">;
  text: string;
  /** Position among the reader's items: orders rejects found at different times. */
  ordinal: number;
}

/**
 * Reads one part of an input file, cleans each document, tokenizes them with encodeDocuments (long
 * documents in pieces cut where the ids provably stay those of the whole text) and writes
 * documents.arrow (token lists + metadata) and documents.jsonl. Whatever fails for one record
 * (cleaning, tokenizing, a reader error) is that record's reject; the rest of the unit goes on.
 * The next batch is read and cleaned while the previous one is being encoded.
 */
export async function tokenizeUnit(spec: TokenizeSpec): Promise<UnitOutcome> {
  const tokenizer = await tokenizerFor(spec.tokenizerPath);
  const rejects: { ordinal: number; reject: RejectRecord }[] = [];
  let ordinal = 0;
  const arrow = new DocumentsWriter(join(spec.outDir, TOKENIZE_FILES.tokens), { tokenDtype: spec.tokenDtype });
  const jsonlPath = join(spec.outDir, TOKENIZE_FILES.documents);
  await appendFile(jsonlPath, "");
  const totals = { documents: 0, tokens: 0, chars: 0, inputBytes: 0 };

  let batch: PendingDocument[] = [];
  let batchChars = 0;
  let inflight: Promise<void> = Promise.resolve();

  const flush = async (docs: PendingDocument[]): Promise<void> => {
    if (docs.length === 0) return;
    // Long documents are cut at safe boundaries inside encodeDocuments (same ids and byte offsets as
    // one call); a document the tokenizer refuses becomes its own reject.
    const encoded = tokenizer.encodeDocuments(docs.map((d) => d.text));
    // Handled below (after the previous batch): this only keeps an early failure from counting as unhandled.
    encoded.catch(() => undefined);
    await inflight; // batches are written in order
    inflight = encoded.then(async (results) => {
      // HF tokenizers turns a literal "<s>" or "</s>" in the text into BOS/EOS ids; such a document
      // would carry a spurious boundary, so it is quarantined rather than silently kept.
      const kept: { index: number; encoded: EncodedText }[] = [];
      results.forEach((r, index) => {
        const doc = docs[index] as PendingDocument;
        const at = r.ok ? r.ids.findIndex((id) => id === tokenizer.bosId || id === tokenizer.eosId) : -1;
        if (r.ok && at < 0) return void kept.push({ index, encoded: r });
        const reason = r.ok ? `special token in text: the text spells BOS/EOS ("<s>" or "</s>"), token ${at} would be id ${r.ids[at]}` : r.reason;
        rejects.push({ ordinal: doc.ordinal, reject: { source: spec.file.name, position: positionOf(doc.entry.provenance), reason } });
      });
      if (kept.length === 0) return;
      const entries: DocumentEntry[] = [];
      for (const {
        index,
        encoded: { ids, starts, ends },
      } of kept) {
        const doc = docs[index] as PendingDocument;
        const tokens: TokenArray = spec.tokenDtype === "uint16" ? Uint16Array.from(ids) : ids;
        entries.push({ ...doc.entry, tokens: tokens.length });
        arrow.append({
          documentId: doc.entry.documentId,
          title: doc.entry.title ?? null,
          language: doc.entry.language ?? null,
          text: doc.text,
          tokens,
          tokenStarts: starts,
          tokenEnds: ends,
          provenance: doc.entry.provenance,
        });
      }
      await appendFile(jsonlPath, entries.map((e) => `${stableStringify(e as unknown as JsonValue)}\n`).join(""));
      for (const e of entries) {
        totals.documents += 1;
        totals.tokens += e.tokens;
        totals.chars += e.chars;
      }
    });
  };

  try {
    for await (const item of guardedReader(spec)) {
      ordinal += 1;
      if (item.kind === "reject") {
        rejects.push({ ordinal, reject: item.reject });
        continue;
      }
      totals.inputBytes += Buffer.byteLength(item.document.text, "utf8");
      const pending = prepareDocument(spec, item.document, ordinal);
      if (pending.kind === "reject") {
        rejects.push({ ordinal, reject: pending.reject });
        continue;
      }
      batch.push(pending.document);
      batchChars += pending.document.text.length;
      if (batchChars >= spec.batchChars) {
        await flush(batch);
        batch = [];
        batchChars = 0;
      }
    }
    await flush(batch);
    await inflight;
    await arrow.close();
  } catch (err) {
    await inflight.catch(() => undefined);
    await arrow.abort();
    throw err;
  }
  rejects.sort((a, b) => a.ordinal - b.ordinal);
  return { result: { documents: totals.documents, tokens: totals.tokens }, rejects: rejects.map((r) => r.reject), metrics: totals };
}

/**
 * The reader's items; a reader that throws (an I/O error, a bug on some odd input) costs the rest
 * of its file part, as one reject naming the file and the error, never the unit.
 */
async function* guardedReader(spec: TokenizeSpec): AsyncGenerator<SourceItem> {
  const reader = readerFor(spec);
  for (;;) {
    let next: IteratorResult<SourceItem>;
    try {
      next = await reader.next();
    } catch (err) {
      yield {
        kind: "reject",
        reject: { source: spec.file.name, position: {}, reason: `unreadable: ${errorText(err)} (the rest of this file part is skipped)` },
      };
      return;
    }
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Cleans one document and builds its entry. Anything that goes wrong here concerns this record
 * only, so it becomes this record's reject (with the best position known), never the unit's failure.
 */
function prepareDocument(
  spec: TokenizeSpec,
  doc: RawDocument,
  ordinal: number,
): { kind: "document"; document: PendingDocument } | { kind: "reject"; reject: RejectRecord } {
  let provenance: DocumentEntry["provenance"] | undefined;
  try {
    const cleaned = cleanText(doc.text, spec.clean);
    provenance = doc.provenanceOf(cleaned.ok ? cleaned.start : 0, cleaned.ok ? cleaned.end : doc.text.length);
    if (!cleaned.ok) return { kind: "reject", reject: { source: spec.file.name, position: positionOf(provenance), reason: cleaned.reason } };
    const title = doc.title ?? cleaned.title;
    const language = doc.language ?? cleaned.language ?? spec.language;
    const entry: Omit<DocumentEntry, "tokens"> = {
      documentId: exampleIdOf("book-document", stableStringify(provenance as unknown as JsonValue)),
      contentSha256: sha256Hex(cleaned.text),
      chars: cleaned.text.length,
      provenance: withExactBytes(provenance, doc.text.slice(cleaned.start, cleaned.end), cleaned.text),
      ...(title !== undefined ? { title } : {}),
      ...(language !== undefined ? { language } : {}),
      ...(doc.sourceId !== undefined ? { sourceId: doc.sourceId } : {}),
    };
    return { kind: "document", document: { entry, text: cleaned.text, ordinal } };
  } catch (err) {
    const position = provenance ? positionOf(provenance) : {};
    return { kind: "reject", reject: { source: spec.file.name, position, reason: `cannot process record: ${errorText(err)}` } };
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * For a .txt document whose cleaned text is a verbatim slice of the kept body (the cleaner only
 * trimmed blank lines and trailing whitespace), the file bytes of exactly that text. Added after the
 * document id is derived, so ids stay those of the body's range.
 */
function withExactBytes(provenance: DocumentEntry["provenance"], body: string, text: string): DocumentEntry["provenance"] {
  if (provenance.kind !== "text-file") return provenance;
  const at = body.indexOf(text);
  if (at < 0) return provenance;
  const start = provenance.bytes.start + utf8Length(body.slice(0, at));
  return { ...provenance, exactBytes: { start, end: start + utf8Length(text) } };
}

/** A reject position from a document's provenance. */
export function positionOf(p: DocumentEntry["provenance"]): RejectRecord["position"] {
  switch (p.kind) {
    case "text-file":
      return { bytes: p.bytes };
    case "jsonl":
      return { line: p.line, bytes: p.bytes };
    case "parquet":
      return { rowGroup: p.rowGroup, row: p.row };
    case "epub":
      return { entry: p.entries.join(",") };
    default:
      return {};
  }
}
