import { stat } from "node:fs/promises";
import { sha256File, stableStringify, type JsonValue } from "@lwm/core";
import { EXAMPLES_FORMAT, formatZodError, SourcedExample, type TokenDtype } from "@lwm/schemas";
import { METADATA_KEY } from "../columns.js";
import { ArrowStreamFile, readArrowBatches, type TokenArray } from "./arrow-table.js";

/** Column order of an examples file (schemas/EXAMPLES.md §2). */
export const EXAMPLE_COLUMNS = ["example_id", "source", "task", "document_id", "provenance", "tokens", "vision", "loss"] as const;

/** Examples per record batch when the writer is not told otherwise. */
const DEFAULT_BATCH_EXAMPLES = 1024;

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
  private readonly file: ArrowStreamFile;
  private readonly batchExamples: number;
  private pending: SourcedExample[] = [];
  private readonly totals = { examples: 0, tokens: 0, lossTokens: 0 };

  constructor(
    readonly path: string,
    options: ExamplesWriterOptions,
  ) {
    this.batchExamples = options.batchExamples ?? DEFAULT_BATCH_EXAMPLES;
    this.file = new ArrowStreamFile(path, options.tokenDtype, new Map([[METADATA_KEY, JSON.stringify({ format: EXAMPLES_FORMAT, tokenDtype: options.tokenDtype })]]));
  }

  append(example: SourcedExample): void {
    const checked = SourcedExample.safeParse(example);
    if (!checked.success) throw new Error(formatZodError(checked.error, `${this.path}: example ${example.exampleId}`));
    this.pending.push(example);
    this.totals.examples += 1;
    this.totals.tokens += example.tokens.length;
    for (const l of example.loss) this.totals.lossTokens += l ? 1 : 0;
    if (this.pending.length >= this.batchExamples) this.flush();
  }

  private flush(): void {
    const rows = this.pending;
    if (rows.length === 0) return;
    this.file.write({
      example_id: { kind: "utf8", values: rows.map((e) => e.exampleId) },
      source: { kind: "utf8", values: rows.map((e) => e.source) },
      task: { kind: "utf8", values: rows.map((e) => e.task) },
      document_id: { kind: "utf8", values: rows.map((e) => e.documentId) },
      provenance: { kind: "utf8", values: rows.map((e) => stableStringify(e.provenance as unknown as JsonValue)) },
      tokens: { kind: "tokens", values: rows.map((e) => e.tokens) },
      vision: { kind: "flags", values: rows.map((e) => e.vision) },
      loss: { kind: "flags", values: rows.map((e) => e.loss) },
    });
    this.pending = [];
  }

  /** Publishes the file; with no examples, writes nothing and returns null. */
  async close(): Promise<ExamplesFileSummary | null> {
    this.flush();
    if (!(await this.file.close())) return null;
    return { ...this.totals, bytes: (await stat(this.path)).size, sha256: await sha256File(this.path) };
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.file.abort();
  }
}

/**
 * The examples of one file in order, one record batch in memory at a time. Each is checked against
 * SourcedExample; an error names the file, the row and the field.
 */
export async function* readExamplesFile(path: string): AsyncGenerator<SourcedExample> {
  let row = 0;
  for await (const batch of readArrowBatches(path)) {
    for (let i = 0; i < batch.numRows; i++, row++) {
      const where = `${path}: row ${row}`;
      const provenanceJson = batch.string("provenance", i);
      let provenance: unknown;
      try {
        provenance = JSON.parse(provenanceJson ?? "null");
      } catch (err) {
        throw new Error(`${where}: provenance is not JSON (${(err as Error).message})`);
      }
      const tokens: TokenArray = batch.tokens("tokens", i);
      const record = {
        exampleId: batch.string("example_id", i),
        source: batch.string("source", i),
        task: batch.string("task", i),
        documentId: batch.string("document_id", i),
        provenance,
        tokens,
        vision: batch.flags("vision", i),
        loss: batch.flags("loss", i),
      };
      const checked = SourcedExample.safeParse(record);
      if (!checked.success) throw new Error(formatZodError(checked.error, `${where} (example ${String(record.exampleId)})`));
      yield checked.data;
    }
  }
}
