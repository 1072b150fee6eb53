import { stableStringify, type JsonValue } from "@lwm/core";
import { DOCUMENTS_FORMAT, DocumentRecord, type TokenDtype } from "@lwm/schemas";
import { jsonColumn, readRecordFile, RecordFileWriter, type RecordLayout } from "./record-file.js";

/** Column order of a documents file (schemas/EXAMPLES.md §4). */
export const DOCUMENT_COLUMNS = ["document_id", "title", "language", "provenance", "text", "tokens", "token_start", "token_end"] as const;

/** Documents per record batch. */
const BATCH_DOCUMENTS = 64;

const DOCUMENTS: RecordLayout<DocumentRecord> = {
  format: DOCUMENTS_FORMAT,
  schema: DocumentRecord,
  name: (d) => `document ${d.documentId}`,
  columns: (rows) => ({
    document_id: { kind: "utf8", values: rows.map((d) => d.documentId) },
    title: { kind: "utf8", values: rows.map((d) => d.title) },
    language: { kind: "utf8", values: rows.map((d) => d.language) },
    provenance: { kind: "utf8", values: rows.map((d) => stableStringify(d.provenance as unknown as JsonValue)) },
    text: { kind: "utf8", values: rows.map((d) => d.text) },
    tokens: { kind: "tokens", values: rows.map((d) => d.tokens) },
    token_start: { kind: "int32s", values: rows.map((d) => d.tokenStarts) },
    token_end: { kind: "int32s", values: rows.map((d) => d.tokenEnds) },
  }),
  row: (batch, i) => ({
    documentId: batch.string("document_id", i),
    title: batch.string("title", i),
    language: batch.string("language", i),
    provenance: jsonColumn(batch, "provenance", i),
    text: batch.string("text", i),
    tokens: batch.tokens("tokens", i),
    tokenStarts: batch.int32s("token_start", i),
    tokenEnds: batch.int32s("token_end", i),
  }),
};

export interface DocumentsFileSummary {
  documents: number;
  tokens: number;
  bytes: number;
  sha256: string;
}

/** Writes one documents file (Arrow IPC stream) atomically; each document is checked against DocumentRecord. */
export class DocumentsWriter {
  private readonly file: RecordFileWriter<DocumentRecord>;
  private readonly totals = { documents: 0, tokens: 0 };

  constructor(
    readonly path: string,
    options: { tokenDtype: TokenDtype },
  ) {
    this.file = new RecordFileWriter(path, DOCUMENTS, options.tokenDtype, BATCH_DOCUMENTS);
  }

  append(document: DocumentRecord): void {
    this.file.append(document);
    this.totals.documents += 1;
    this.totals.tokens += document.tokens.length;
  }

  /** Publishes the file; with no documents, writes nothing and returns null. */
  async close(): Promise<DocumentsFileSummary | null> {
    const file = await this.file.close();
    return file && { ...this.totals, ...file };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

/** The documents of one file in order, one record batch in memory at a time, each checked against DocumentRecord. */
export function readDocumentsFile(path: string): AsyncGenerator<DocumentRecord> {
  return readRecordFile(path, DOCUMENTS);
}
