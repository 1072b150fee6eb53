import { open } from "node:fs/promises";
import { endianness } from "node:os";
import { z } from "zod";
import { AtomicFileWriter } from "@lwm/core";
import { formatZodError } from "@lwm/schemas";

/**
 * The safetensors file format (https://huggingface.co/docs/safetensors), written and read by hand:
 *
 *   bytes 0..7   N, the header length, unsigned 64-bit little-endian
 *   bytes 8..8+N a UTF-8 JSON object: { "<tensor name>": { "dtype": "F32", "shape": [..],
 *                "data_offsets": [begin, end] }, ..., "__metadata__": { string: string } },
 *                padded with spaces so that the data starts 8-byte aligned
 *   the rest     the tensors' raw little-endian bytes; offsets are relative to the data start and
 *                the tensors tile the data exactly (no holes, no overlaps)
 *
 * We write F32 only (the trainer is fp32 end to end, like LWM); we read F32, F16 and BF16 (the
 * dtypes Hugging Face Llama checkpoints ship in) and widen them to Float32Array.
 */

export interface Tensor {
  shape: readonly number[];
  data: Float32Array;
}

export type TensorMap = Map<string, Tensor>;

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
type ReadableDtype = keyof typeof DTYPE_BYTES;

const TensorHeader = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const Metadata = z.record(z.string(), z.string());

/** Headers beyond this are corrupt (the format's own reference implementation caps at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function assertLittleEndianHost(): void {
  // Float32Array views use the host byte order; the format is little-endian.
  if (endianness() !== "LE") throw new Error("safetensors I/O needs a little-endian host");
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises the header: tensors in name order, contiguous, then space-padded to 8 bytes. */
function encodeHeader(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): { header: Buffer; order: string[] } {
  const order = [...tensors.keys()].sort();
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json["__metadata__"] = metadata;
  let offset = 0;
  for (const name of order) {
    const t = tensors.get(name)!;
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors: tensor "${name}" has ${t.data.length} values but shape [${t.shape.join(", ")}]`);
    }
    const bytes = t.data.length * 4;
    json[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = JSON.stringify(json);
  const raw = Buffer.from(text, "utf8");
  const padded = Math.ceil(raw.length / 8) * 8;
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  raw.copy(header, 8);
  return { header, order };
}

/**
 * Writes `tensors` as F32 safetensors at `path`, atomically (core's AtomicFileWriter: temp file,
 * fsync, rename), streaming one tensor at a time so no file-sized buffer is ever built.
 */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  assertLittleEndianHost();
  const { header, order } = encodeHeader(tensors, metadata);
  const out = await AtomicFileWriter.create(path);
  try {
    await out.write(header);
    for (const name of order) {
      const { data } = tensors.get(name)!;
      await out.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
  /** The on-disk dtype of each tensor (everything is widened to F32 in memory). */
  dtypes: Map<string, ReadableDtype>;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function widen(bytes: Uint8Array, dtype: ReadableDtype, count: number): Float32Array {
  if (dtype === "F32") {
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const halves = new Uint16Array(count);
  new Uint8Array(halves.buffer).set(bytes);
  if (dtype === "BF16") {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(count);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}

/**
 * Reads a safetensors file, validating the header (zod), every tensor's byte range against its
 * dtype and shape, and that the tensors tile the data section exactly.
 */
export async function readSafetensors(path: string, only?: (name: string) => boolean): Promise<SafetensorsFile> {
  assertLittleEndianHost();
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${path}: not a safetensors file (${size} bytes)`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
      throw new Error(`${path}: header length ${headerLen} does not fit a ${size}-byte file`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    await fh.read(headerBuf, 0, headerLen, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(headerBuf.toString("utf8"));
    } catch (err) {
      throw new Error(`${path}: header is not JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${path}: header is not a JSON object`);
    const dataStart = 8 + headerLen;
    const dataBytes = size - dataStart;
    const entries: { name: string; dtype: ReadableDtype; shape: number[]; begin: number; end: number }[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === "__metadata__") {
        const m = Metadata.safeParse(value);
        if (!m.success) throw new Error(formatZodError(m.error, `${path}: __metadata__`));
        metadata = m.data;
        continue;
      }
      const h = TensorHeader.safeParse(value);
      if (!h.success) throw new Error(formatZodError(h.error, `${path}: tensor "${name}"`));
      const {
        dtype,
        shape,
        data_offsets: [begin, end],
      } = h.data;
      if (!(dtype in DTYPE_BYTES)) throw new Error(`${path}: tensor "${name}": dtype ${dtype} is not supported (F32, F16, BF16)`);
      const d = dtype as ReadableDtype;
      if (end < begin || end - begin !== elementCount(shape) * DTYPE_BYTES[d]) {
        throw new Error(`${path}: tensor "${name}": byte range [${begin}, ${end}) does not hold ${d}[${shape.join(", ")}]`);
      }
      entries.push({ name, dtype: d, shape, begin, end });
    }
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let cursor = 0;
    for (const e of entries) {
      if (e.begin !== cursor) throw new Error(`${path}: tensor "${e.name}" starts at ${e.begin}, expected ${cursor} (hole or overlap)`);
      cursor = e.end;
    }
    if (cursor !== dataBytes) throw new Error(`${path}: tensors cover ${cursor} of ${dataBytes} data bytes`);
    const tensors: TensorMap = new Map();
    const dtypes = new Map<string, ReadableDtype>();
    for (const e of entries) {
      if (only && !only(e.name)) continue;
      const bytes = new Uint8Array(e.end - e.begin);
      await fh.read(bytes, 0, bytes.length, dataStart + e.begin);
      tensors.set(e.name, { shape: e.shape, data: widen(bytes, e.dtype, elementCount(e.shape)) });
      dtypes.set(e.name, e.dtype);
    }
    return { tensors, metadata, dtypes };
  } finally {
    await fh.close();
  }
}
