import { Bool, makeData, RecordBatch, Struct, type Data, type Schema } from "apache-arrow";
import type { ShardMetadata } from "@lwm/schemas";
import { packBitsInto } from "./bits.js";
import { hasTaskColumn } from "./columns.js";
import type { PackedRow } from "./row.js";

/** A List<Utf8> column's buffers: row r's strings are valueOffsets[offsets[r]] .. valueOffsets[offsets[r+1]] into data. */
export interface Utf8ListColumn {
  offsets: Int32Array;
  valueOffsets: Int32Array;
  data: Uint8Array;
}

/**
 * One record batch as raw typed arrays over the file's bytes (no per-element decoding).
 * List offsets are rebased so that row r spans [offsets[r], offsets[r+1]) of the matching values;
 * bitmaps hold token t of row r at bit `bitOffset + r*seqLen + t`.
 */
export interface ShardBatch {
  numRows: number;
  seqLen: number;
  tokens: Uint16Array | Uint32Array;
  visionBits: Uint8Array;
  visionBitOffset: number;
  lossBits: Uint8Array;
  lossBitOffset: number;
  cuOffsets: Int32Array;
  cuValues: Int32Array;
  weightTextOffsets: Int32Array;
  weightText: Float32Array;
  weightVisionOffsets: Int32Array;
  weightVision: Float32Array;
  exampleIds: Utf8ListColumn;
  provenance: Utf8ListColumn;
  /** Per-segment tasks; null before format 3. */
  tasks: Utf8ListColumn | null;
}

const encoder = new TextEncoder();

function utf8List(strings: string[], rowOffsets: Int32Array): Utf8ListColumn {
  const encoded = strings.map((s) => encoder.encode(s));
  const valueOffsets = new Int32Array(strings.length + 1);
  for (let i = 0; i < encoded.length; i++) valueOffsets[i + 1] = valueOffsets[i]! + encoded[i]!.length;
  const data = new Uint8Array(valueOffsets[strings.length]!);
  for (let i = 0; i < encoded.length; i++) data.set(encoded[i]!, valueOffsets[i]!);
  return { offsets: rowOffsets, valueOffsets, data };
}

/** Stats of the rows added to a batch or shard (manifest ShardEntry fields). */
export interface RowStats {
  rows: number;
  realTokens: number;
  lossTokens: number;
  segments: number;
}

/**
 * Collects up to `capacity` rows into preallocated column buffers; `build()` turns them into an
 * Arrow RecordBatch through makeData (zero-copy over these buffers).
 */
export class BatchBuilder {
  private readonly tokens: Uint16Array | Uint32Array;
  private readonly visionBits: Uint8Array;
  private readonly lossBits: Uint8Array;
  private rows = 0;
  private cuValues: number[] = [];
  private readonly cuOffsets: Int32Array;
  private readonly segOffsets: Int32Array;
  private weightText: number[] = [];
  private weightVision: number[] = [];
  private exampleIds: string[] = [];
  private provenance: string[] = [];
  private tasks: string[] = [];

  constructor(
    private readonly meta: ShardMetadata,
    private readonly schema: Schema,
    readonly capacity: number,
  ) {
    const n = capacity * meta.seqLen;
    this.tokens = meta.tokenDtype === "uint16" ? new Uint16Array(n) : new Uint32Array(n);
    this.visionBits = new Uint8Array(Math.ceil(n / 8));
    this.lossBits = new Uint8Array(Math.ceil(n / 8));
    this.cuOffsets = new Int32Array(capacity + 1);
    this.segOffsets = new Int32Array(capacity + 1);
  }

  get length(): number {
    return this.rows;
  }

  /** Adds a row (checked for shape only: the validator proves the content rules). */
  add(row: PackedRow): RowStats {
    const { seqLen } = this.meta;
    if (this.rows >= this.capacity) throw new Error("BatchBuilder: batch is full");
    if (row.tokens.length !== seqLen || row.vision.length !== seqLen || row.loss.length !== seqLen) {
      throw new Error(`row has tokens ${row.tokens.length}, vision ${row.vision.length}, loss ${row.loss.length}; expected seqLen ${seqLen}`);
    }
    const nseg = row.cuSeqlens.length - 1;
    if (nseg < 1) throw new Error("row has no segments (cuSeqlens needs at least 2 entries)");
    const perSegment: [string, number][] = [
      ["weightText", row.weightText.length],
      ["weightVision", row.weightVision.length],
      ["exampleIds", row.exampleIds.length],
      ["provenance", row.provenance.length],
    ];
    if (hasTaskColumn(this.meta)) perSegment.push(["tasks", row.tasks?.length ?? 0]);
    for (const [name, len] of perSegment) {
      if (len !== nseg) throw new Error(`row has ${nseg} segments but ${name} has ${len} entries`);
    }
    const base = this.rows * seqLen;
    this.tokens.set(row.tokens, base);
    packBitsInto(row.vision, this.visionBits, base);
    packBitsInto(row.loss, this.lossBits, base);
    let lossTokens = 0;
    for (let i = 0; i < seqLen; i++) lossTokens += row.loss[i]! & 1;
    for (let i = 0; i <= nseg; i++) this.cuValues.push(row.cuSeqlens[i]!);
    for (let s = 0; s < nseg; s++) {
      this.weightText.push(row.weightText[s]!);
      this.weightVision.push(row.weightVision[s]!);
      this.exampleIds.push(row.exampleIds[s]!);
      this.provenance.push(JSON.stringify(row.provenance[s]));
      if (row.tasks && hasTaskColumn(this.meta)) this.tasks.push(row.tasks[s]!);
    }
    this.rows++;
    this.cuOffsets[this.rows] = this.cuValues.length;
    this.segOffsets[this.rows] = this.weightText.length;
    return { rows: 1, realTokens: row.cuSeqlens[nseg]!, lossTokens, segments: nseg };
  }

  /** The collected rows as a RecordBatch, zero-copy over this builder's buffers (see clear()). */
  build(): RecordBatch {
    const rows = this.rows;
    const n = rows * this.meta.seqLen;
    const fields = this.schema.fields;
    const segOffsets = this.segOffsets.slice(0, rows + 1);
    const examples = utf8List(this.exampleIds, segOffsets);
    const provenance = utf8List(this.provenance, segOffsets);
    const utf8ListData = (i: number, col: Utf8ListColumn) =>
      list(i, segOffsets, makeData({ type: childType(i), length: nseg, nullCount: 0, valueOffsets: col.valueOffsets, data: col.data }));
    const f = (i: number) => fields[i]!.type;
    const childType = (i: number) => fields[i]!.type.children[0]!.type;
    const fsl = (i: number, childData: Data) => makeData({ type: f(i), length: rows, nullCount: 0, child: childData });
    const list = (i: number, offsets: Int32Array, childData: Data) =>
      makeData({ type: f(i), length: rows, nullCount: 0, valueOffsets: offsets, child: childData });
    const nseg = this.weightText.length;
    const children = [
      fsl(0, makeData({ type: childType(0), length: n, nullCount: 0, data: this.tokens.subarray(0, n) })),
      fsl(1, makeData({ type: new Bool(), length: n, nullCount: 0, data: this.visionBits.subarray(0, Math.ceil(n / 8)) })),
      fsl(2, makeData({ type: new Bool(), length: n, nullCount: 0, data: this.lossBits.subarray(0, Math.ceil(n / 8)) })),
      list(
        3,
        this.cuOffsets.slice(0, rows + 1),
        makeData({ type: childType(3), length: this.cuValues.length, nullCount: 0, data: Int32Array.from(this.cuValues) }),
      ),
      list(4, segOffsets, makeData({ type: childType(4), length: nseg, nullCount: 0, data: Float32Array.from(this.weightText) })),
      list(5, segOffsets, makeData({ type: childType(5), length: nseg, nullCount: 0, data: Float32Array.from(this.weightVision) })),
      utf8ListData(6, examples),
      utf8ListData(7, provenance),
    ];
    if (hasTaskColumn(this.meta)) children.push(utf8ListData(8, utf8List(this.tasks, segOffsets)));
    return new RecordBatch(this.schema, makeData({ type: new Struct(fields), length: rows, nullCount: 0, children }));
  }

  /**
   * Empties the builder for the next batch. The token and bit buffers went into the last batch
   * zero-copy, so call this only once that batch's bytes are written; bits are OR-ed in, so they
   * are zeroed here.
   */
  clear(): void {
    this.visionBits.fill(0);
    this.lossBits.fill(0);
    this.rows = 0;
    this.cuValues = [];
    this.weightText = [];
    this.weightVision = [];
    this.exampleIds = [];
    this.provenance = [];
    this.tasks = [];
  }
}
