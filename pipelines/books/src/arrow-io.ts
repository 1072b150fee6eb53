import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Field, List, makeData, RecordBatch, RecordBatchReader, RecordBatchStreamWriter, Schema, Struct, Uint16, Uint32, Utf8, Int32, vectorFromArray, type DataType, type Data } from "apache-arrow";
import { tempPathFor } from "@lwm/core";
import type { TokenDtype } from "@lwm/schemas";

/** Token arrays of one document or example. */
export type TokenArray = Uint16Array | Uint32Array;

export function tokenArrayOf(dtype: TokenDtype, length: number): TokenArray {
  return dtype === "uint16" ? new Uint16Array(length) : new Uint32Array(length);
}

/** A column of a batch: strings (nullable when a member is null), int32s, or token lists. */
export type Column =
  | { kind: "utf8"; values: (string | null)[] }
  | { kind: "int32"; values: Int32Array }
  | { kind: "tokens"; values: TokenArray[] };

function tokenType(dtype: TokenDtype): Uint16 | Uint32 {
  return dtype === "uint16" ? new Uint16() : new Uint32();
}

function columnData(column: Column, dtype: TokenDtype): { type: DataType; data: Data; nullable: boolean } {
  if (column.kind === "utf8") {
    const nullable = column.values.some((v) => v === null);
    const vector = vectorFromArray(column.values, new Utf8());
    return { type: new Utf8(), data: vector.data[0] as Data, nullable };
  }
  if (column.kind === "int32") {
    return { type: new Int32(), data: makeData({ type: new Int32(), length: column.values.length, nullCount: 0, data: column.values }), nullable: false };
  }
  // Token lists are built from one flat typed array plus offsets: no per-token JS values.
  const inner = tokenType(dtype);
  const offsets = new Int32Array(column.values.length + 1);
  let total = 0;
  column.values.forEach((t, i) => {
    total += t.length;
    if (total > 0x7fffffff) throw new RangeError("a batch may hold at most 2^31-1 tokens");
    offsets[i + 1] = total;
  });
  const flat = tokenArrayOf(dtype, total);
  let at = 0;
  for (const t of column.values) {
    flat.set(t, at);
    at += t.length;
  }
  const type = new List(new Field("item", inner, false));
  const child = makeData({ type: inner, length: total, nullCount: 0, data: flat });
  return { type, data: makeData({ type, length: column.values.length, nullCount: 0, valueOffsets: offsets, child }), nullable: false };
}

/**
 * Writes record batches as an Arrow IPC *stream* (schema first, then batches; readable by
 * pyarrow.ipc.open_stream, polars and apache-arrow) to a temp file, renamed into place on close.
 */
export class ArrowStreamFile {
  private writer: RecordBatchStreamWriter | null = null;
  private done: Promise<void> = Promise.resolve();
  private readonly temp: string;
  private schema: Schema | null = null;
  private rows = 0;

  constructor(
    readonly path: string,
    private readonly dtype: TokenDtype,
    private readonly metadata: Map<string, string>,
  ) {
    this.temp = tempPathFor(path);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** The file is only created with the first rows: a writer that gets none leaves nothing behind. */
  private open(): RecordBatchStreamWriter {
    if (this.writer) return this.writer;
    const writer = new RecordBatchStreamWriter();
    const out = createWriteStream(this.temp);
    this.done = new Promise((resolve, reject) => {
      out.on("close", resolve);
      out.on("error", reject);
    });
    writer.toNodeStream().pipe(out);
    this.writer = writer;
    return writer;
  }

  /** One record batch; every batch must have the same columns in the same order. */
  write(columns: Record<string, Column>): void {
    const entries = Object.entries(columns);
    const length = entries.length > 0 ? (entries[0] as [string, Column])[1].values.length : 0;
    if (length === 0) return;
    const built = entries.map(([name, column]) => {
      if (column.values.length !== length) throw new RangeError(`column ${name}: ${column.values.length} values, expected ${length}`);
      return { name, ...columnData(column, this.dtype) };
    });
    // Strings are declared nullable in every batch: the first batch fixes the schema for all.
    const schema = this.schema ?? new Schema(built.map((b) => new Field(b.name, b.type, b.type instanceof Utf8 ? true : b.nullable)), this.metadata);
    this.schema = schema;
    const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: built.map((b) => b.data) });
    this.open().write(new RecordBatch(schema, struct));
    this.rows += length;
  }

  /** Finishes the stream and renames it into place; with no rows, writes nothing and returns false. */
  async close(): Promise<boolean> {
    if (!this.writer) return false;
    this.writer.finish();
    await this.done;
    await rename(this.temp, this.path);
    return true;
  }

  async abort(): Promise<void> {
    if (!this.writer) return;
    this.writer.finish();
    await this.done.catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}

/** One row of a token-list Arrow stream, read column by column. */
export interface ArrowRow {
  strings: Record<string, string | null>;
  ints: Record<string, number>;
  tokens: TokenArray;
}

/** Reads an Arrow IPC stream batch by batch (bounded memory); yields its schema metadata first through `onSchema`. */
export async function* readArrowRows(path: string, onSchema?: (metadata: Map<string, string>) => void): AsyncGenerator<ArrowRow> {
  const reader = await RecordBatchReader.from(createReadStream(path));
  await reader.open();
  onSchema?.(reader.schema.metadata);
  for await (const batch of reader) {
    const names = batch.schema.fields.map((f) => f.name);
    const tokenCol = batch.getChild("tokens");
    if (!tokenCol) throw new Error(`${path}: no "tokens" column`);
    const listData = tokenCol.data[0] as Data<List<Uint16 | Uint32>>;
    const offsets = listData.valueOffsets;
    const values = (listData.children[0] as Data<Uint16 | Uint32>).values as TokenArray;
    for (let i = 0; i < batch.numRows; i += 1) {
      const strings: Record<string, string | null> = {};
      const ints: Record<string, number> = {};
      for (const name of names) {
        if (name === "tokens") continue;
        const col = batch.getChild(name);
        const v: unknown = col?.get(i);
        if (typeof v === "number") ints[name] = v;
        else strings[name] = v === null || v === undefined ? null : String(v);
      }
      const start = (offsets[listData.offset + i] as number);
      const end = (offsets[listData.offset + i + 1] as number);
      yield { strings, ints, tokens: values.slice(start, end) };
    }
  }
}
