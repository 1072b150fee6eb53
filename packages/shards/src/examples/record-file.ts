import { stat } from "node:fs/promises";
import { sha256File } from "@lwm/core";
import { formatZodError, type TokenDtype } from "@lwm/schemas";
import type { z } from "zod";
import { METADATA_KEY } from "../columns.js";
import { ArrowStreamFile, readArrowBatches, type BatchColumns, type Column } from "./arrow-table.js";

/** How one kind of record (an example, a document) is stored in an Arrow stream file. */
export interface RecordLayout<T> {
  /** The `format` recorded in the schema metadata. */
  format: string;
  schema: z.ZodType<T>;
  /** What an error calls a record, e.g. "example 0a1b…". */
  name(record: T): string;
  /** One record batch's columns, in the file's column order. */
  columns(records: T[]): Record<string, Column>;
  /** Row i of a batch as the plain values the schema checks (JSON columns parsed). */
  row(batch: BatchColumns, i: number): Record<string, unknown>;
}

/**
 * Writes records of one layout to an Arrow IPC stream file atomically (nothing at `path` before
 * close()), `batchRows` per record batch; each record is checked against the layout's schema when
 * it is appended, so a bad one fails where it is made.
 */
export class RecordFileWriter<T> {
  private readonly file: ArrowStreamFile;
  private pending: T[] = [];

  constructor(
    readonly path: string,
    private readonly layout: RecordLayout<T>,
    tokenDtype: TokenDtype,
    private readonly batchRows: number,
  ) {
    this.file = new ArrowStreamFile(path, tokenDtype, new Map([[METADATA_KEY, JSON.stringify({ format: layout.format, tokenDtype })]]));
  }

  append(record: T): void {
    const checked = this.layout.schema.safeParse(record);
    if (!checked.success) throw new Error(formatZodError(checked.error, `${this.path}: ${this.layout.name(record)}`));
    this.pending.push(record);
    if (this.pending.length >= this.batchRows) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.file.write(this.layout.columns(this.pending));
    this.pending = [];
  }

  /** Publishes the file and returns its size and sha256; with no records, writes nothing and returns null. */
  async close(): Promise<{ bytes: number; sha256: string } | null> {
    this.flush();
    if (!(await this.file.close())) return null;
    return { bytes: (await stat(this.path)).size, sha256: await sha256File(this.path) };
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.file.abort();
  }
}

/** The records of one file in order, one record batch in memory at a time, each checked against the layout's schema. */
export async function* readRecordFile<T>(path: string, layout: RecordLayout<T>): AsyncGenerator<T> {
  let n = 0;
  for await (const batch of readArrowBatches(path)) {
    for (let i = 0; i < batch.numRows; i++, n++) {
      const where = `${path}: row ${n}`;
      let values: Record<string, unknown>;
      try {
        values = layout.row(batch, i);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
      const checked = layout.schema.safeParse(values);
      if (!checked.success) throw new Error(formatZodError(checked.error, where));
      yield checked.data;
    }
  }
}

/** A JSON column's value, parsed; the error says which column. */
export function jsonColumn(batch: BatchColumns, name: string, i: number): unknown {
  try {
    return JSON.parse(batch.string(name, i) ?? "null");
  } catch (err) {
    throw new Error(`${name} is not JSON (${(err as Error).message})`);
  }
}
