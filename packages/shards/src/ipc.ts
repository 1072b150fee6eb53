import { AsyncByteQueue, Message, MessageHeader, type Schema } from "apache-arrow";
import type { FileHandle } from "node:fs/promises";
import { ShardError } from "./errors.js";

/**
 * Arrow IPC stream framing (https://arrow.apache.org/docs/format/Columnar.html#encapsulated-message-format):
 * each message is 0xFFFFFFFF, an int32 metadata length L (a multiple of 8 counting padding), L bytes
 * of flatbuffer Message, then Message.bodyLength bytes of body. A message with L = 0 ends the stream.
 */
export const CONTINUATION = 0xffffffff;
export const PREFIX_BYTES = 8;

/** Where one record batch lies in the file, and where its buffers lie in its body. */
export interface BatchBlock {
  /** File offset of the message's continuation marker. */
  offset: number;
  /** PREFIX_BYTES + flatbuffer metadata (padded). */
  headerLength: number;
  /** File offset of the body (offset + headerLength). */
  bodyOffset: number;
  bodyLength: number;
  rows: number;
  /** Arrow buffers in schema order (depth first: validity, offsets, values …), offsets relative to bodyOffset. */
  buffers: { offset: number; length: number }[];
  /** Per field node (depth first): length and null count. */
  nodes: { length: number; nullCount: number }[];
}

export interface StreamLayout {
  schema: Schema;
  /** Bytes [0, schemaLength) are the whole Schema message (prefix, metadata, empty body). */
  schemaLength: number;
  batches: BatchBlock[];
  /** File offset of the end-of-stream marker. */
  eosOffset: number;
  fileBytes: number;
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * Reads every message header of the stream once (not the bodies) and returns the schema and each
 * batch's byte range. Throws ShardError (io.truncated, arrow.stream, arrow.schema) when the bytes
 * are not a complete stream of one schema followed by uncompressed record batches.
 */
export async function scanStream(fh: FileHandle, shard: string): Promise<StreamLayout> {
  const fileBytes = (await fh.stat()).size;
  let pos = 0;
  let schema: Schema | null = null;
  let schemaLength = 0;
  const batches: BatchBlock[] = [];
  for (;;) {
    if (pos + PREFIX_BYTES > fileBytes) {
      throw new ShardError("io.truncated", shard, `file ends at byte ${fileBytes} inside or before the message at ${pos} (no end-of-stream marker)`);
    }
    const prefix = await readExactly(fh, PREFIX_BYTES, pos);
    const view = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES);
    if (view.getUint32(0, true) !== CONTINUATION) {
      throw new ShardError("arrow.stream", shard, `byte ${pos}: expected the IPC continuation marker 0xFFFFFFFF`);
    }
    const metaLength = view.getInt32(4, true);
    if (metaLength === 0) {
      if (schema === null) throw new ShardError("arrow.stream", shard, "stream ends before its Schema message");
      if (pos + PREFIX_BYTES !== fileBytes) {
        throw new ShardError("arrow.stream", shard, `${fileBytes - pos - PREFIX_BYTES} bytes follow the end-of-stream marker at ${pos}`);
      }
      return { schema, schemaLength, batches, eosOffset: pos, fileBytes };
    }
    if (metaLength < 0 || metaLength % 8 !== 0) {
      throw new ShardError("arrow.stream", shard, `byte ${pos}: bad metadata length ${metaLength}`);
    }
    if (pos + PREFIX_BYTES + metaLength > fileBytes) {
      throw new ShardError("io.truncated", shard, `file ends at byte ${fileBytes} inside the message header at ${pos}`);
    }
    const metadata = await readExactly(fh, metaLength, pos + PREFIX_BYTES);
    let message: Message;
    try {
      message = Message.decode(metadata);
    } catch (err) {
      throw new ShardError("arrow.stream", shard, `byte ${pos}: undecodable message header (${(err as Error).message})`);
    }
    const headerLength = PREFIX_BYTES + metaLength;
    const bodyLength = message.bodyLength;
    if (pos + headerLength + bodyLength > fileBytes) {
      throw new ShardError(
        "io.truncated",
        shard,
        `file ends at byte ${fileBytes} inside the body of the message at ${pos} (needs ${pos + headerLength + bodyLength})`,
      );
    }
    if (schema === null) {
      if (!message.isSchema()) throw new ShardError("arrow.stream", shard, "the first message is not a Schema");
      try {
        schema = message.header();
      } catch (err) {
        throw new ShardError("arrow.schema", shard, `undecodable schema (${(err as Error).message})`);
      }
      schemaLength = headerLength + bodyLength;
    } else if (message.headerType === MessageHeader.RecordBatch) {
      let header;
      try {
        header = (message as Message<MessageHeader.RecordBatch>).header();
      } catch (err) {
        throw new ShardError("arrow.stream", shard, `byte ${pos}: undecodable record batch header (${(err as Error).message})`);
      }
      if (header.compression !== null) {
        throw new ShardError("arrow.stream", shard, `record batch ${batches.length} is compressed; shards store uncompressed bodies`);
      }
      batches.push({
        offset: pos,
        headerLength,
        bodyOffset: pos + headerLength,
        bodyLength,
        rows: header.length,
        buffers: header.buffers.map((b) => ({ offset: b.offset, length: b.length })),
        nodes: header.nodes.map((n) => ({ length: n.length, nullCount: n.nullCount })),
      });
    } else {
      throw new ShardError(
        "arrow.stream",
        shard,
        `byte ${pos}: unexpected ${MessageHeader[message.headerType]} message (shards hold one Schema then record batches)`,
      );
    }
    pos += headerLength + bodyLength;
  }
}

export { readExactly };

/**
 * A byte sink for apache-arrow's RecordBatchStreamWriter that hands each chunk to `onChunk`
 * synchronously, so the shard writer can hash and write exactly what the stream writer produced
 * without buffering the whole stream.
 */
export class ChunkSink extends AsyncByteQueue<Uint8Array> {
  constructor(private readonly onChunk: (chunk: Uint8Array) => void) {
    super();
  }
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.onChunk(value);
  }
}
