import { createHash } from "node:crypto";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { RecordBatchStreamWriter, type Schema } from "apache-arrow";
import { tempPathFor } from "@lwm/core";
import { formatZodError, ShardMetadata, type ShardEntry, type TokenDtype } from "@lwm/schemas";
import { BatchBuilder } from "./batch.js";
import { shardSchema } from "./columns.js";
import { ChunkSink } from "./ipc.js";
import type { PackedRow } from "./row.js";

/** A shard may never pass this size: Node's readFile and 32-bit offsets stop at 2 GiB. */
export const MAX_SHARD_BYTES = 1.5 * 2 ** 30;
/** Token + flag bytes a default-sized shard aims at, leaving room for per-segment columns. */
const TARGET_SHARD_BYTES = 2 ** 30;
/** Tokens per record batch the default rowsPerBatch aims at (≈ 600 KiB of uint16 tokens + flags). */
const TARGET_BATCH_TOKENS = 2 ** 18;

/** rowsPerBatch for a seqLen: about 256K tokens per batch, at least one row. */
export function defaultRowsPerBatch(seqLen: number): number {
  return Math.max(1, Math.floor(TARGET_BATCH_TOKENS / seqLen));
}

/** Rows per shard that keep a shard near 1 GiB (well under MAX_SHARD_BYTES). */
export function defaultMaxRows(seqLen: number, dtype: TokenDtype): number {
  const bytesPerToken = (dtype === "uint16" ? 2 : 4) + 0.25;
  return Math.max(1, Math.floor(TARGET_SHARD_BYTES / (seqLen * bytesPerToken)));
}

export interface ShardWriterOptions {
  /** append() refuses rows past this many (default: defaultMaxRows). */
  maxRows?: number;
  /** A batch that would take the file past this many bytes aborts the shard (default and ceiling: MAX_SHARD_BYTES). */
  maxBytes?: number;
}

/**
 * Writes one shard: an Arrow IPC stream (Schema, record batches of meta.rowsPerBatch rows, EOS) to a
 * temp file beside `path`, hashing the bytes as they are written; close() renames it into place and
 * returns its manifest entry, abort() deletes it.
 */
export class ShardWriter {
  private readonly hash = createHash("sha256");
  private readonly builder: BatchBuilder;
  private readonly arrowWriter = new RecordBatchStreamWriter();
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private rowCount = 0;
  private realTokens = 0;
  private lossTokens = 0;
  private segments = 0;
  private state: "open" | "closed" | "aborted" = "open";
  /** A batch is being written: its buffers are in use until the write ends. */
  private writing = false;

  private constructor(
    readonly path: string,
    readonly meta: ShardMetadata,
    private readonly schema: Schema,
    private readonly fh: FileHandle,
    private readonly tempPath: string,
    readonly maxRows: number,
    readonly maxBytes: number,
  ) {
    this.builder = new BatchBuilder(meta, schema, meta.rowsPerBatch);
    this.arrowWriter.reset(
      new ChunkSink((chunk) => {
        this.hash.update(chunk);
        this.pending.push(chunk);
      }),
      schema,
    );
  }

  static async create(path: string, meta: ShardMetadata, options: ShardWriterOptions = {}): Promise<ShardWriter> {
    const parsed = ShardMetadata.safeParse(meta);
    if (!parsed.success) throw new Error(formatZodError(parsed.error, `shard metadata for ${path}`));
    const maxRows = options.maxRows ?? defaultMaxRows(meta.seqLen, meta.tokenDtype);
    const tempPath = tempPathFor(path);
    const fh = await open(tempPath, "wx");
    const maxBytes = Math.min(options.maxBytes ?? MAX_SHARD_BYTES, MAX_SHARD_BYTES);
    const writer = new ShardWriter(path, parsed.data, shardSchema(parsed.data), fh, tempPath, maxRows, maxBytes);
    await writer.flushPending();
    return writer;
  }

  get rows(): number {
    return this.rowCount;
  }

  /** True once maxRows rows are in: the caller starts the next shard. */
  get full(): boolean {
    return this.rowCount >= this.maxRows;
  }

  /** Adds a row; await it before the next append (a full batch is written here). */
  async append(row: PackedRow): Promise<void> {
    if (this.state !== "open") throw new Error(`ShardWriter(${this.path}): append after ${this.state}`);
    if (this.writing) throw new Error(`ShardWriter(${this.path}): append before the previous append finished; await each append`);
    if (this.full) throw new Error(`ShardWriter(${this.path}): shard is full (${this.maxRows} rows)`);
    const stats = this.builder.add(row);
    this.rowCount++;
    this.realTokens += stats.realTokens;
    this.lossTokens += stats.lossTokens;
    this.segments += stats.segments;
    if (this.builder.length === this.builder.capacity) await this.flushBatch();
  }

  /** Writes the last (partial) batch and the end-of-stream marker, then renames the file into place. */
  async close(): Promise<ShardEntry> {
    if (this.state !== "open") throw new Error(`ShardWriter(${this.path}): close after ${this.state}`);
    try {
      if (this.builder.length > 0) await this.flushBatch();
      this.arrowWriter.close();
      await this.flushPending();
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tempPath, this.path);
      this.state = "closed";
    } catch (err) {
      await this.abort();
      throw err;
    }
    return {
      file: basename(this.path),
      sha256: this.hash.digest("hex"),
      bytes: this.bytes,
      rows: this.rowCount,
      tokens: this.rowCount * this.meta.seqLen,
      realTokens: this.realTokens,
      lossTokens: this.lossTokens,
      segments: this.segments,
    };
  }

  /** Drops the shard: closes and deletes the temp file. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "aborted";
    await this.fh.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }

  private async flushBatch(): Promise<void> {
    this.writing = true;
    try {
      this.arrowWriter.write(this.builder.build());
      const batchBytes = this.pending.reduce((n, c) => n + c.byteLength, 0);
      if (this.bytes + batchBytes > this.maxBytes) {
        await this.abort();
        throw new Error(`ShardWriter(${this.path}): shard would pass ${this.maxBytes} bytes; lower maxRows`);
      }
      await this.flushPending();
      this.builder.clear();
    } finally {
      this.writing = false;
    }
  }

  private async flushPending(): Promise<void> {
    const chunks = this.pending;
    this.pending = [];
    if (chunks.length === 0) return;
    let written = 0;
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    // writev may write part of the data; continue from where it stopped.
    let rest = chunks;
    while (written < total) {
      const { bytesWritten } = await this.fh.writev(rest, this.bytes + written);
      written += bytesWritten;
      if (written < total) rest = dropBytes(chunks, written);
    }
    this.bytes += total;
  }
}

function dropBytes(chunks: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    if (n >= c.byteLength) n -= c.byteLength;
    else {
      out.push(n > 0 ? c.subarray(n) : c);
      n = 0;
    }
  }
  return out;
}
