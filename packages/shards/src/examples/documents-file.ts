import { stat } from "node:fs/promises";
import { sha256File, stableStringify, type JsonValue } from "@lwm/core";
import { DOCUMENTS_FORMAT, DocumentRecord, formatZodError, type TokenDtype } from "@lwm/schemas";
import { METADATA_KEY } from "../columns.js";
import { ArrowStreamFile, readArrowBatches } from "./arrow-table.js";

/** Column order of a documents file (schemas/EXAMPLES.md §4). */
export const DOCUMENT_COLUMNS = ["document_id", "title", "language", "provenance", "text", "tokens", "token_start", "token_end"] as const;

/** Documents per record batch. */
const BATCH_DOCUMENTS = 64;

export interface DocumentsFileSummary {
  documents: number;
  tokens: number;
  bytes: number;
  sha256: string;
}

/** Writes one documents file (Arrow IPC stream) atomically; each document is checked against DocumentRecord. */
export class DocumentsWriter {
  private readonly file: ArrowStreamFile;
  private pending: DocumentRecord[] = [];
  private readonly totals = { documents: 0, tokens: 0 };

  constructor(
    readonly path: string,
    options: { tokenDtype: TokenDtype },
  ) {
    this.file = new ArrowStreamFile(path, options.tokenDtype, new Map([[METADATA_KEY, JSON.stringify({ format: DOCUMENTS_FORMAT, tokenDtype: options.tokenDtype })]]));
  }

  append(document: DocumentRecord): void {
    const checked = DocumentRecord.safeParse(document);
    if (!checked.success) throw new Error(formatZodError(checked.error, `${this.path}: document ${document.documentId}`));
    this.pending.push(document);
    this.totals.documents += 1;
    this.totals.tokens += document.tokens.length;
    if (this.pending.length >= BATCH_DOCUMENTS) this.flush();
  }

  private flush(): void {
    const rows = this.pending;
    if (rows.length === 0) return;
    this.file.write({
      document_id: { kind: "utf8", values: rows.map((d) => d.documentId) },
      title: { kind: "utf8", values: rows.map((d) => d.title) },
      language: { kind: "utf8", values: rows.map((d) => d.language) },
      provenance: { kind: "utf8", values: rows.map((d) => stableStringify(d.provenance as unknown as JsonValue)) },
      text: { kind: "utf8", values: rows.map((d) => d.text) },
      tokens: { kind: "tokens", values: rows.map((d) => d.tokens) },
      token_start: { kind: "int32s", values: rows.map((d) => d.tokenStarts) },
      token_end: { kind: "int32s", values: rows.map((d) => d.tokenEnds) },
    });
    this.pending = [];
  }

  /** Publishes the file; with no documents, writes nothing and returns null. */
  async close(): Promise<DocumentsFileSummary | null> {
    this.flush();
    if (!(await this.file.close())) return null;
    return { ...this.totals, bytes: (await stat(this.path)).size, sha256: await sha256File(this.path) };
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.file.abort();
  }
}

/** The documents of one file in order, one record batch in memory at a time, each checked against DocumentRecord. */
export async function* readDocumentsFile(path: string): AsyncGenerator<DocumentRecord> {
  let row = 0;
  for await (const batch of readArrowBatches(path)) {
    for (let i = 0; i < batch.numRows; i++, row++) {
      const where = `${path}: row ${row}`;
      let provenance: unknown;
      try {
        provenance = JSON.parse(batch.string("provenance", i) ?? "null");
      } catch (err) {
        throw new Error(`${where}: provenance is not JSON (${(err as Error).message})`);
      }
      const record = {
        documentId: batch.string("document_id", i),
        title: batch.string("title", i),
        language: batch.string("language", i),
        provenance,
        text: batch.string("text", i),
        tokens: batch.tokens("tokens", i),
        tokenStarts: batch.int32s("token_start", i),
        tokenEnds: batch.int32s("token_end", i),
      };
      const checked = DocumentRecord.safeParse(record);
      if (!checked.success) throw new Error(formatZodError(checked.error, `${where} (document ${String(record.documentId)})`));
      yield checked.data;
    }
  }
}
