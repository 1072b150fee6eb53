import { createReadStream } from "node:fs";
import { Gunzip } from "fflate";
import { Decompress as ZstdDecompress } from "fzstd";

export type Compression = "none" | "gzip" | "zstd";

export function compressionOf(path: string): Compression {
  if (/\.gz$/i.test(path)) return "gzip";
  if (/\.zst$/i.test(path)) return "zstd";
  return "none";
}

/** The raw bytes [start, end) of a file, in chunks of about 1 MiB. */
export async function* fileChunks(path: string, start = 0, end?: number): AsyncGenerator<Uint8Array> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(path, { start, end: end === undefined ? undefined : end - 1, highWaterMark: 1 << 20 });
  for await (const chunk of stream) yield chunk as Buffer;
}

/**
 * Decompresses a chunk stream with fflate (gzip) or fzstd (zstd), both streaming: memory stays
 * bounded by the chunk sizes, whatever the file size.
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
  let sawInput = false;
  for await (const chunk of chunks) {
    sawInput = true;
    decoder.push(chunk, false);
    yield* out.splice(0);
  }
  if (!sawInput) throw new Error(`empty ${compression} stream`);
  decoder.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

export interface Line {
  /** The line's bytes, without its "\n". */
  bytes: Uint8Array;
  /** Offsets of the line in the (decompressed) stream: [start, end), "\n" excluded. */
  start: number;
  end: number;
}

/** Splits a byte stream into lines, with their offsets from `base`. A last line without "\n" counts. */
export async function* lines(chunks: AsyncIterable<Uint8Array>, base = 0): AsyncGenerator<Line> {
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  let lineStart = base;
  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      const bytes = pendingLength === 0 ? piece : concat([...pending, piece], pendingLength + piece.length);
      pending = [];
      pendingLength = 0;
      yield { bytes, start: lineStart, end: lineStart + bytes.length };
      lineStart += bytes.length + 1;
      from = nl + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      pending.push(rest);
      pendingLength += rest.length;
    }
  }
  if (pendingLength > 0) {
    const bytes = concat(pending, pendingLength);
    yield { bytes, start: lineStart, end: lineStart + bytes.length };
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
