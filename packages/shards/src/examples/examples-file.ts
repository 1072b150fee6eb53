import { stableStringify, type JsonValue } from "@lwm/core";
import { EXAMPLES_FORMAT, SourcedExample, type TokenDtype } from "@lwm/schemas";
import { jsonColumn, readRecordFile, RecordFileWriter, type RecordLayout } from "./record-file.js";

/** Column order of an examples file (schemas/EXAMPLES.md §2). */
export const EXAMPLE_COLUMNS = ["example_id", "source", "task", "document_id", "provenance", "tokens", "vision", "loss"] as const;

/** Examples per record batch when the writer is not told otherwise. */
const DEFAULT_BATCH_EXAMPLES = 1024;

const EXAMPLES: RecordLayout<SourcedExample> = {
  format: EXAMPLES_FORMAT,
  schema: SourcedExample,
  name: (e) => `example ${e.exampleId}`,
  columns: (rows) => ({
    example_id: { kind: "utf8", values: rows.map((e) => e.exampleId) },
    source: { kind: "utf8", values: rows.map((e) => e.source) },
    task: { kind: "utf8", values: rows.map((e) => e.task) },
    document_id: { kind: "utf8", values: rows.map((e) => e.documentId) },
    provenance: { kind: "utf8", values: rows.map((e) => stableStringify(e.provenance as unknown as JsonValue)) },
    tokens: { kind: "tokens", values: rows.map((e) => e.tokens) },
    vision: { kind: "flags", values: rows.map((e) => e.vision) },
    loss: { kind: "flags", values: rows.map((e) => e.loss) },
  }),
  row: (batch, i) => ({
    exampleId: batch.string("example_id", i),
    source: batch.string("source", i),
    task: batch.string("task", i),
    documentId: batch.string("document_id", i),
    provenance: jsonColumn(batch, "provenance", i),
    tokens: batch.tokens("tokens", i),
    vision: batch.flags("vision", i),
    loss: batch.flags("loss", i),
  }),
};

/** What a closed examples file holds: its ExamplesIndex part entry, less file name and source. */
export interface ExamplesFileSummary {
  examples: number;
  tokens: number;
  lossTokens: number;
  bytes: number;
  sha256: string;
}

export interface ExamplesWriterOptions {
  tokenDtype: TokenDtype;
  /** Examples per Arrow record batch (default 1024); part of the bytes, so of a unit's key. */
  batchExamples?: number;
}

/**
 * Writes one examples file (an Arrow IPC stream, schemas/EXAMPLES.md) atomically: nothing is at
 * `path` before close(). Every example is checked against SourcedExample as it is appended, so a
 * bad one fails where it is made, naming its id and field.
 */
export class ExamplesWriter {
  private readonly file: RecordFileWriter<SourcedExample>;
  private readonly totals = { examples: 0, tokens: 0, lossTokens: 0 };
  private readonly tokenDtype: TokenDtype;

  constructor(
    readonly path: string,
    options: ExamplesWriterOptions,
  ) {
    this.tokenDtype = options.tokenDtype;
    this.file = new RecordFileWriter(path, EXAMPLES, options.tokenDtype, options.batchExamples ?? DEFAULT_BATCH_EXAMPLES);
  }

  /** Appends one example; its tokens are stored in the file's dtype (uint32 ids are narrowed, and refused when one does not fit). */
  append(example: SourcedExample): void {
    if (this.tokenDtype === "uint16" && example.tokens instanceof Uint32Array) {
      const at = example.tokens.findIndex((t) => t > 0xffff);
      if (at >= 0) throw new Error(`${this.path}: example ${example.exampleId}: tokens[${at}] = ${example.tokens[at]} does not fit the file's uint16 tokens`);
    }
    this.file.append(example);
    this.totals.examples += 1;
    this.totals.tokens += example.tokens.length;
    for (const l of example.loss) this.totals.lossTokens += l ? 1 : 0;
  }

  /** Publishes the file; with no examples, writes nothing and returns null. */
  async close(): Promise<ExamplesFileSummary | null> {
    const file = await this.file.close();
    return file && { ...this.totals, ...file };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

/**
 * The examples of one file in order, one record batch in memory at a time. Each is checked against
 * SourcedExample; an error names the file, the row and the field.
 */
export function readExamplesFile(path: string): AsyncGenerator<SourcedExample> {
  return readRecordFile(path, EXAMPLES);
}
