import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { RecordBatchReader, type Data, type RecordBatch } from "apache-arrow";
import { formatZodError, Provenance, ShardMetadata, TaskKind } from "@lwm/schemas";
import type { ShardBatch, Utf8ListColumn } from "./batch.js";
import { unpackBits } from "./bits.js";
import { bufferCount, METADATA_KEY, schemaMismatches } from "./columns.js";
import { ShardError } from "./errors.js";
import { readExactly, scanStream, type BatchBlock, type StreamLayout } from "./ipc.js";
import type { PackedRow } from "./row.js";
import { parseTask } from "./tasks.js";

export interface ShardReaderOptions {
  /** Decoded batches kept in memory for row() (default 2). */
  cacheBatches?: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses and zod-checks the `lwm` schema metadata; throws ShardError("meta.schema"). */
export function parseShardMetadata(raw: string | undefined, shard: string): ShardMetadata {
  if (raw === undefined) throw new ShardError("meta.schema", shard, `schema has no "${METADATA_KEY}" metadata`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ShardError("meta.schema", shard, `"${METADATA_KEY}" metadata is not JSON (${(err as Error).message})`);
  }
  const parsed = ShardMetadata.safeParse(json);
  if (!parsed.success) throw new ShardError("meta.schema", shard, formatZodError(parsed.error, `"${METADATA_KEY}" metadata`));
  return parsed.data;
}

function listOffsets(data: Data, rows: number): Int32Array {
  return (data.valueOffsets as Int32Array).subarray(data.offset, data.offset + rows + 1);
}

function utf8Column(list: Data, rows: number): Utf8ListColumn {
  const child = list.children[0]!;
  return {
    offsets: listOffsets(list, rows),
    valueOffsets: (child.valueOffsets as Int32Array).subarray(child.offset, child.offset + child.length + 1),
    data: child.values as Uint8Array,
  };
}

/** Raw typed-array view of a decoded record batch (zero-copy over the batch's bytes). */
function batchView(batch: RecordBatch, seqLen: number): ShardBatch {
  const rows = batch.numRows;
  const c = batch.data.children;
  const fslChild = (i: number): Data => c[i]!.children[0]!;
  const tokens = fslChild(0);
  const vision = fslChild(1);
  const loss = fslChild(2);
  const values = <T extends Float32Array | Int32Array>(list: Data): T => {
    const child = list.children[0]!;
    return (child.values as T).subarray(child.offset, child.offset + child.length) as T;
  };
  return {
    numRows: rows,
    seqLen,
    tokens: (tokens.values as Uint16Array | Uint32Array).subarray(tokens.offset, tokens.offset + tokens.length),
    visionBits: vision.values as Uint8Array,
    visionBitOffset: vision.offset,
    lossBits: loss.values as Uint8Array,
    lossBitOffset: loss.offset,
    cuOffsets: listOffsets(c[3]!, rows),
    cuValues: values<Int32Array>(c[3]!),
    weightTextOffsets: listOffsets(c[4]!, rows),
    weightText: values<Float32Array>(c[4]!),
    weightVisionOffsets: listOffsets(c[5]!, rows),
    weightVision: values<Float32Array>(c[5]!),
    exampleIds: utf8Column(c[6]!, rows),
    provenance: utf8Column(c[7]!, rows),
    tasks: c[8] ? utf8Column(c[8], rows) : null,
  };
}

/**
 * Structural problems of a batch view that would make indexing it unsafe: buffer lengths,
 * list offsets that are not monotone or run past their values. Empty when sound.
 */
export function batchStructureProblems(b: ShardBatch): string[] {
  const problems: string[] = [];
  const n = b.numRows * b.seqLen;
  if (b.tokens.length !== n) problems.push(`tokens has ${b.tokens.length} values, expected ${n}`);
  if (b.visionBits.length * 8 < b.visionBitOffset + n) problems.push(`vision bitmap holds ${b.visionBits.length * 8} bits, needs ${b.visionBitOffset + n}`);
  if (b.lossBits.length * 8 < b.lossBitOffset + n) problems.push(`loss bitmap holds ${b.lossBits.length * 8} bits, needs ${b.lossBitOffset + n}`);
  const checkOffsets = (name: string, offsets: Int32Array, valueCount: number) => {
    if (offsets.length !== b.numRows + 1) {
      problems.push(`${name} has ${offsets.length} list offsets, expected ${b.numRows + 1}`);
      return;
    }
    for (let r = 0; r < b.numRows; r++) {
      if (offsets[r + 1]! < offsets[r]!) {
        problems.push(`${name} list offsets decrease at row ${r}`);
        return;
      }
    }
    if (offsets[0]! < 0 || offsets[b.numRows]! > valueCount)
      problems.push(`${name} list offsets [${offsets[0]}, ${offsets[b.numRows]}] run outside its ${valueCount} values`);
  };
  checkOffsets("cu_seqlens", b.cuOffsets, b.cuValues.length);
  checkOffsets("weight_text", b.weightTextOffsets, b.weightText.length);
  checkOffsets("weight_vision", b.weightVisionOffsets, b.weightVision.length);
  const strings: [string, Utf8ListColumn][] = [
    ["example_id", b.exampleIds],
    ["provenance", b.provenance],
  ];
  if (b.tasks) strings.push(["task", b.tasks]);
  for (const [name, col] of strings) {
    checkOffsets(name, col.offsets, col.valueOffsets.length - 1);
    const vo = col.valueOffsets;
    for (let i = 0; i + 1 < vo.length; i++) {
      if (vo[i + 1]! < vo[i]!) {
        problems.push(`${name} string offsets decrease at string ${i}`);
        break;
      }
    }
    if (vo.length > 0 && (vo[0]! < 0 || vo[vo.length - 1]! > col.data.length)) problems.push(`${name} string offsets run outside its ${col.data.length} bytes`);
  }
  return problems;
}

/** String `k` of a Utf8 list column. */
export function utf8At(col: Utf8ListColumn, k: number): string {
  return decoder.decode(col.data.subarray(col.valueOffsets[k]!, col.valueOffsets[k + 1]!));
}

/**
 * Random and sequential access to one shard, reading lazily through a FileHandle. open() reads only
 * the message headers (to find every batch); batches are read and decoded on demand and a few are
 * cached. Row r lives in batch floor(r / rowsPerBatch).
 */
export class ShardReader {
  private readonly cache = new Map<number, Promise<ShardBatch>>();
  private schemaBytes: Uint8Array | null = null;
  private readonly firstRow: number[] = [];

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly layout: StreamLayout,
    readonly meta: ShardMetadata,
    readonly numRows: number,
    private readonly cacheSize: number,
  ) {
    let r = 0;
    for (const b of layout.batches) {
      this.firstRow.push(r);
      r += b.rows;
    }
  }

  /** Opens a shard; throws ShardError (io.*, arrow.*, meta.schema) when it is not a readable shard. */
  static async open(path: string, options: ShardReaderOptions = {}): Promise<ShardReader> {
    const shard = basename(path);
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      throw new ShardError("io.read", shard, (err as Error).message);
    }
    try {
      const layout = await scanStream(fh, shard);
      const meta = parseShardMetadata(layout.schema.metadata.get(METADATA_KEY), shard);
      const mismatches = schemaMismatches(layout.schema, meta);
      if (mismatches.length > 0) throw new ShardError("arrow.schema", shard, mismatches.join("; "));
      let rows = 0;
      layout.batches.forEach((b, i) => {
        const last = i === layout.batches.length - 1;
        if (b.rows > meta.rowsPerBatch || b.rows === 0 || (!last && b.rows !== meta.rowsPerBatch)) {
          throw new ShardError(
            "arrow.batch",
            shard,
            `batch ${i} has ${b.rows} rows; every batch but the last must hold rowsPerBatch=${meta.rowsPerBatch}, the last 1..${meta.rowsPerBatch}`,
          );
        }
        if (b.buffers.length !== bufferCount(meta)) {
          throw new ShardError("arrow.batch", shard, `batch ${i} has ${b.buffers.length} buffers, expected ${bufferCount(meta)}`);
        }
        rows += b.rows;
      });
      return new ShardReader(path, fh, layout, meta, rows, Math.max(1, options.cacheBatches ?? 2));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get name(): string {
    return basename(this.path);
  }

  get numBatches(): number {
    return this.layout.batches.length;
  }

  /** Byte layout of batch i (file offsets of its message, body and buffers). */
  batchLayout(i: number): BatchBlock {
    const b = this.layout.batches[i];
    if (!b) throw new RangeError(`${this.name}: batch ${i} out of range (0..${this.numBatches - 1})`);
    return b;
  }

  /** Index of the first row of batch i. */
  batchFirstRow(i: number): number {
    this.batchLayout(i);
    return this.firstRow[i]!;
  }

  /** Bytes [offset, offset+length) of the file. */
  async readBytes(offset: number, length: number): Promise<Uint8Array> {
    const bytes = await readExactly(this.fh, length, offset);
    if (bytes.length !== length) throw new ShardError("io.truncated", this.name, `read ${bytes.length} of ${length} bytes at ${offset}`);
    return bytes;
  }

  /** Reads and decodes batch i (not cached). Throws ShardError("arrow.batch") when its buffers are inconsistent. */
  async readBatch(i: number): Promise<ShardBatch> {
    return (await this.readBatchMessage(i)).batch;
  }

  /**
   * Batch i decoded, plus `bytes`: its whole IPC message (header and body) exactly as stored at
   * batchLayout(i).offset, for callers that hash or copy the file as they read it.
   */
  async readBatchMessage(i: number): Promise<{ batch: ShardBatch; bytes: Uint8Array }> {
    const block = this.batchLayout(i);
    if (this.schemaBytes === null) this.schemaBytes = await this.readBytes(0, this.layout.schemaLength);
    // Schema message + this batch's message form a two-message stream that apache-arrow decodes
    // zero-copy; the batch bytes are read straight into place (one copy, from the file).
    const length = block.headerLength + block.bodyLength;
    const buf = new Uint8Array(this.schemaBytes.length + length);
    buf.set(this.schemaBytes, 0);
    const { bytesRead } = await this.fh.read(buf, this.schemaBytes.length, length, block.offset);
    if (bytesRead !== length) throw new ShardError("io.truncated", this.name, `batch ${i}: read ${bytesRead} of ${length} bytes`);
    let batch: RecordBatch | undefined;
    try {
      const reader = RecordBatchReader.from(buf);
      const next = reader.next();
      batch = next.done ? undefined : next.value;
    } catch (err) {
      throw new ShardError("arrow.batch", this.name, `batch ${i} does not decode: ${(err as Error).message}`, this.firstRow[i]!);
    }
    if (!batch) throw new ShardError("arrow.batch", this.name, `batch ${i} does not decode`, this.firstRow[i]!);
    const view = batchView(batch, this.meta.seqLen);
    const problems = batchStructureProblems(view);
    if (problems.length > 0) throw new ShardError("arrow.batch", this.name, `batch ${i}: ${problems.join("; ")}`, this.firstRow[i]!);
    return { batch: view, bytes: buf.subarray(this.schemaBytes.length) };
  }

  private cachedBatch(i: number): Promise<ShardBatch> {
    let p = this.cache.get(i);
    if (p) {
      this.cache.delete(i);
      this.cache.set(i, p); // most recently used last
      return p;
    }
    p = this.readBatch(i);
    p.catch(() => this.cache.delete(i));
    this.cache.set(i, p);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  /** Row r (0-based): O(1) to locate; tokens, cuSeqlens and weights are views into the cached batch. */
  async row(r: number): Promise<PackedRow> {
    if (!Number.isInteger(r) || r < 0 || r >= this.numRows) throw new RangeError(`${this.name}: row ${r} out of range (0..${this.numRows - 1})`);
    const b = Math.floor(r / this.meta.rowsPerBatch);
    return rowOf(await this.cachedBatch(b), r - b * this.meta.rowsPerBatch, this.name, r);
  }

  async *batches(): AsyncGenerator<ShardBatch> {
    for (let i = 0; i < this.numBatches; i++) yield await this.readBatch(i);
  }

  async *rows(): AsyncGenerator<PackedRow> {
    for (let i = 0; i < this.numBatches; i++) {
      const batch = await this.readBatch(i);
      for (let r = 0; r < batch.numRows; r++) yield rowOf(batch, r, this.name, this.firstRow[i]! + r);
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<PackedRow> {
    return this.rows();
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.fh.close();
  }
}

/**
 * Row `r` of a batch as a PackedRow. `rowIndex` (the row's index in the shard) only names the row in
 * errors. Throws ShardError("segment.provenance") for provenance that is not valid JSON of Provenance.
 */
export function rowOf(batch: ShardBatch, r: number, shard: string, rowIndex = r): PackedRow {
  const { seqLen } = batch;
  const start = r * seqLen;
  const seg0 = batch.weightTextOffsets[r]!;
  const seg1 = batch.weightTextOffsets[r + 1]!;
  const exampleIds = segmentStrings(batch.exampleIds, r);
  const provenance = segmentStrings(batch.provenance, r).map((p, s) => parseProvenance(p, shard, rowIndex, s));
  const tasks = batch.tasks && segmentStrings(batch.tasks, r).map((t, s) => taskOf(t, shard, rowIndex, s));
  return {
    tokens: batch.tokens.subarray(start, start + seqLen),
    vision: unpackBits(batch.visionBits, batch.visionBitOffset + start, seqLen),
    loss: unpackBits(batch.lossBits, batch.lossBitOffset + start, seqLen),
    cuSeqlens: batch.cuValues.subarray(batch.cuOffsets[r]!, batch.cuOffsets[r + 1]!),
    weightText: batch.weightText.subarray(seg0, seg1),
    weightVision: batch.weightVision.subarray(batch.weightVisionOffsets[r]!, batch.weightVisionOffsets[r + 1]!),
    exampleIds,
    provenance,
    tasks,
  };
}

/** Row r's strings of a Utf8 list column, one per segment. */
function segmentStrings(col: Utf8ListColumn, r: number): string[] {
  const out: string[] = [];
  for (let k = col.offsets[r]!; k < col.offsets[r + 1]!; k++) out.push(utf8At(col, k));
  return out;
}

/** One segment's task as a TaskKind; throws ShardError("segment.task") naming row and segment for a name that is no task. */
export function taskOf(name: string, shard: string, row: number, segment: number): TaskKind {
  const task = parseTask(name);
  if (task === null)
    throw new ShardError("segment.task", shard, `segment ${segment}: task ${JSON.stringify(name)} is not one of ${TaskKind.options.join(", ")}`, row);
  return task;
}

/** Parses one provenance entry; throws ShardError("segment.provenance") naming row and segment. */
export function parseProvenance(json: string, shard: string, row: number, segment: number): Provenance {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ShardError("segment.provenance", shard, `segment ${segment}: provenance is not JSON (${(err as Error).message})`, row);
  }
  const parsed = Provenance.safeParse(value);
  if (!parsed.success) throw new ShardError("segment.provenance", shard, formatZodError(parsed.error, `segment ${segment} provenance`), row);
  return parsed.data;
}
