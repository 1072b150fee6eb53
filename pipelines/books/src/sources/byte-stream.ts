import { constants, createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Gunzip } from "fflate";
import { Decompress as ZstdDecompress } from "fzstd";
import { concatBytes } from "./bytes.js";
import { ZstdBlockCutter } from "./zstd-blocks.js";

export type Compression = "none" | "gzip" | "zstd";

export function compressionOf(path: string): Compression {
  if (/\.gz$/i.test(path)) return "gzip";
  if (/\.zst$/i.test(path)) return "zstd";
  return "none";
}

/** A file that is not a regular file (a FIFO, a device, a socket, a folder): never read, it could hang or never end. */
export class NotRegularFileError extends Error {}

/** What a non-regular file is, in words. */
export function fileKind(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  if (info.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/**
 * Opens a file for reading only if it is a regular file. O_NONBLOCK makes opening a FIFO return at
 * once (instead of waiting for a writer), so the check happens before anything can hang.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotRegularFileError(`not a regular file: ${fileKind(info)}`);
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The raw bytes [start, end) of a regular file, in chunks of about 1 MiB. */
export async function* fileChunks(path: string, start = 0, end?: number): AsyncGenerator<Uint8Array> {
  if (end !== undefined && end <= start) return;
  const { handle } = await openRegularFile(path);
  const stream = createReadStream("", { fd: handle, start, end: end === undefined ? undefined : end - 1, highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    stream.destroy();
  }
}

/** Compressed bytes per decoder push for gzip: deflate inflates at most ~1032×, so one push gives ≤ ~17 MB. */
const GZIP_PUSH_BYTES = 16 * 1024;

/**
 * Decompresses a chunk stream with fflate (gzip) or fzstd (zstd), streaming, in pushes whose output
 * is bounded whatever the input: gzip input goes in 16 KiB slices (deflate's ratio is at most
 * ~1032:1), zstd input one block at a time (≤ 128 KiB out) with frame windows bounded
 * (zstd-blocks.ts). What a push gives is handed on before the next push, so a decompression bomb
 * costs time, never memory.
 */
export async function* decompress(chunks: AsyncIterable<Uint8Array>, compression: Compression): AsyncGenerator<Uint8Array> {
  if (compression === "none") {
    yield* chunks;
    return;
  }
  const out: Uint8Array[] = [];
  const sink = (data: Uint8Array): void => {
    if (data.length > 0) out.push(data);
  };
  const decoder = compression === "gzip" ? new Gunzip(sink) : new ZstdDecompress(sink);
  const cutter = compression === "zstd" ? new ZstdBlockCutter() : null;
  const pieces = (chunk: Uint8Array): Uint8Array[] => {
    if (cutter) return cutter.feed(chunk);
    const slices: Uint8Array[] = [];
    for (let at = 0; at < chunk.length; at += GZIP_PUSH_BYTES) slices.push(chunk.subarray(at, at + GZIP_PUSH_BYTES));
    return slices;
  };
  let sawInput = false;
  for await (const chunk of chunks) {
    sawInput = sawInput || chunk.length > 0;
    for (const piece of pieces(chunk)) {
      decoder.push(piece, false);
      yield* out.splice(0);
    }
  }
  if (!sawInput) throw new Error(`empty ${compression} stream`);
  cutter?.end();
  decoder.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

export interface Line {
  /** The line's bytes, without its "\n"; empty when the line is over the length bound (see `tooLong`). */
  bytes: Uint8Array;
  /** The line was longer than the bound given to `lines`: its bytes were dropped as they came. */
  tooLong?: true;
  /** Offsets of the line in the (decompressed) stream: [start, end), "\n" excluded. */
  start: number;
  end: number;
}

/**
 * Splits a byte stream into lines, with their offsets from `base`. A last line without "\n" counts.
 * A line longer than `maxLineBytes` is not kept: its bytes are dropped as they arrive and it comes
 * out with `tooLong` and its true extent, so memory stays bounded by `maxLineBytes` plus a chunk.
 */
export async function* lines(chunks: AsyncIterable<Uint8Array>, base = 0, maxLineBytes = Number.MAX_SAFE_INTEGER): AsyncGenerator<Line> {
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  let dropping = false;
  let lineStart = base;
  const finish = (piece: Uint8Array): Line => {
    const length = pendingLength + piece.length;
    const line: Line =
      dropping || length > maxLineBytes
        ? { bytes: new Uint8Array(0), tooLong: true, start: lineStart, end: lineStart + length }
        : { bytes: pendingLength === 0 ? piece : concatBytes([...pending, piece], length), start: lineStart, end: lineStart + length };
    pending = [];
    pendingLength = 0;
    dropping = false;
    lineStart += length + 1;
    return line;
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      yield finish(chunk.subarray(from, nl));
      from = nl + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      pendingLength += rest.length;
      if (!dropping && pendingLength > maxLineBytes) {
        dropping = true;
        pending = [];
      }
      if (!dropping) pending.push(rest);
    }
  }
  if (pendingLength > 0) yield finish(new Uint8Array(0));
}
