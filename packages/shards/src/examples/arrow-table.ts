import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import {
  Bool,
  Field,
  Int32,
  List,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint16,
  Uint32,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from "apache-arrow";
import { fsyncPath, tempPathFor } from "@lwm/core";
import type { TokenDtype } from "@lwm/schemas";
import { packBitsInto, unpackBits } from "../bits.js";

/** Token ids of one example or document. */
export type TokenArray = Uint16Array | Uint32Array;

export function tokenArrayOf(dtype: TokenDtype, length: number): TokenArray {
  return dtype === "uint16" ? new Uint16Array(length) : new Uint32Array(length);
}

/**
 * A column of one record batch: strings (nullable where a value is null), or one list per row of
 * token ids, 0|1 flags (stored as Arrow booleans) or int32s.
 */
export type Column =
  | { kind: "utf8"; values: (string | null)[] }
  | { kind: "tokens"; values: TokenArray[] }
  | { kind: "flags"; values: Uint8Array[] }
  | { kind: "int32s"; values: Int32Array[] };

function tokenType(dtype: TokenDtype): Uint16 | Uint32 {
  return dtype === "uint16" ? new Uint16() : new Uint32();
}

/** One list column from one flat child array plus offsets: no per-element JS values. */
function listData<T extends DataType>(
  inner: T,
  lists: ArrayLike<number>[] & { length: number },
  child: (total: number) => Data<T>,
): { type: List<T>; data: Data<List<T>> } {
  const offsets = new Int32Array(lists.length + 1);
  let total = 0;
  for (let i = 0; i < lists.length; i++) {
    total += (lists[i] as ArrayLike<number>).length;
    if (total > 0x7fffffff) throw new RangeError("a record batch may hold at most 2^31-1 list values per column");
    offsets[i + 1] = total;
  }
  const type = new List(new Field("item", inner, false));
  return { type, data: makeData({ type, length: lists.length, nullCount: 0, valueOffsets: offsets, child: child(total) }) };
}

function columnData(column: Column, dtype: TokenDtype): { type: DataType; data: Data; nullable: boolean } {
  switch (column.kind) {
    case "utf8": {
      const vector = vectorFromArray(column.values, new Utf8());
      return { type: new Utf8(), data: vector.data[0] as Data, nullable: column.values.some((v) => v === null) };
    }
    case "tokens": {
      const inner = tokenType(dtype);
      const built = listData(inner, column.values, (total) => {
        const flat = tokenArrayOf(dtype, total);
        let at = 0;
        for (const t of column.values) {
          flat.set(t, at);
          at += t.length;
        }
        return makeData({ type: inner, length: total, nullCount: 0, data: flat });
      });
      return { ...built, nullable: false };
    }
    case "flags": {
      const built = listData(new Bool(), column.values, (total) => {
        const bits = new Uint8Array((total + 7) >> 3);
        let at = 0;
        for (const f of column.values) {
          packBitsInto(f, bits, at);
          at += f.length;
        }
        return makeData({ type: new Bool(), length: total, nullCount: 0, data: bits });
      });
      return { ...built, nullable: false };
    }
    case "int32s": {
      const built = listData(new Int32(), column.values, (total) => {
        const flat = new Int32Array(total);
        let at = 0;
        for (const v of column.values) {
          flat.set(v, at);
          at += v.length;
        }
        return makeData({ type: new Int32(), length: total, nullCount: 0, data: flat });
      });
      return { ...built, nullable: false };
    }
  }
}

/**
 * Writes record batches as one Arrow IPC *stream* (Schema first, then batches, then end-of-stream:
 * what pyarrow.ipc.open_stream, polars read_ipc_stream, HF datasets and apache-arrow read) to a temp
 * file beside `path`, renamed into place by close(). Nothing appears at `path` before that.
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

  /** One record batch; every batch has the same columns in the same order. */
  write(columns: Record<string, Column>): void {
    const entries = Object.entries(columns);
    const length = entries.length > 0 ? (entries[0] as [string, Column])[1].values.length : 0;
    if (length === 0) return;
    const built = entries.map(([name, column]) => {
      if (column.values.length !== length) throw new RangeError(`column ${name}: ${column.values.length} values, expected ${length}`);
      return { name, ...columnData(column, this.dtype) };
    });
    // Strings are declared nullable in every batch: the first batch fixes the schema for all.
    const schema =
      this.schema ??
      new Schema(
        built.map((b) => new Field(b.name, b.type, b.type instanceof Utf8 ? true : b.nullable)),
        this.metadata,
      );
    this.schema = schema;
    const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: built.map((b) => b.data) });
    this.open().write(new RecordBatch(schema, struct));
    this.rows += length;
  }

  /** Finishes the stream, fsyncs it and renames it into place; with no rows, writes nothing and returns false. */
  async close(): Promise<boolean> {
    if (!this.writer) return false;
    this.writer.finish();
    await this.done;
    await fsyncPath(this.temp);
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

/** Typed access to the columns of one record batch that was read back. */
export class BatchColumns {
  constructor(
    readonly batch: RecordBatch,
    private readonly path: string,
  ) {}

  get numRows(): number {
    return this.batch.numRows;
  }

  private data(name: string): Data {
    const col = this.batch.getChild(name);
    if (!col) throw new Error(`${this.path}: no column "${name}"`);
    return col.data[0] as Data;
  }

  /** Row i of a Utf8 column (null stays null). */
  string(name: string, i: number): string | null {
    const v: unknown = this.batch.getChild(name)?.get(i);
    if (v === undefined) throw new Error(`${this.path}: no column "${name}"`);
    return v === null ? null : String(v);
  }

  private listRange(data: Data, i: number): [number, number] {
    const offsets = data.valueOffsets as Int32Array;
    return [offsets[data.offset + i] as number, offsets[data.offset + i + 1] as number];
  }

  /** Row i of a List<UInt16|UInt32> column, copied. */
  tokens(name: string, i: number): TokenArray {
    const data = this.data(name);
    const child = data.children[0] as Data;
    const [start, end] = this.listRange(data, i);
    return (child.values as TokenArray).slice(child.offset + start, child.offset + end);
  }

  /** Row i of a List<Bool> column as 0|1 bytes. */
  flags(name: string, i: number): Uint8Array {
    const data = this.data(name);
    const child = data.children[0] as Data;
    const [start, end] = this.listRange(data, i);
    return unpackBits(child.values as Uint8Array, child.offset + start, end - start);
  }

  /** Row i of a List<Int32> column, copied. */
  int32s(name: string, i: number): Int32Array {
    const data = this.data(name);
    const child = data.children[0] as Data;
    const [start, end] = this.listRange(data, i);
    return (child.values as Int32Array).slice(child.offset + start, child.offset + end);
  }
}

/** The record batches of an Arrow IPC stream file, one at a time (bounded memory), with the schema metadata. */
export async function* readArrowBatches(path: string, onSchema?: (metadata: Map<string, string>) => void): AsyncGenerator<BatchColumns> {
  const reader = await RecordBatchReader.from(createReadStream(path));
  await reader.open();
  onSchema?.(reader.schema.metadata);
  for await (const batch of reader) yield new BatchColumns(batch, path);
}
