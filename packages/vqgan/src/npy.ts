/**
 * NumPy .npy files (format 1.0) for uint16 code arrays: a 10-byte preamble, a Python-literal
 * header padded to 64 bytes, then the raw little-endian data in C order.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "@lwm/core";

export type NpyDtype = "<u2" | "|u1" | "<i8" | "<f8" | "<f4";

function header(descr: string, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let text = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + text.length + 1;
  text += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(text.length, 8);
  return Buffer.concat([pre, Buffer.from(text, "latin1")]);
}

export function encodeNpy(data: Uint16Array | Uint8Array, shape: readonly number[]): Buffer {
  const descr = data instanceof Uint16Array ? "<u2" : "|u1";
  return Buffer.concat([header(descr, shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export async function writeNpy(path: string, data: Uint16Array | Uint8Array, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** The data bytes (little-endian), aligned copy. */
  bytes: Uint8Array;
}

export function decodeNpy(buf: Uint8Array, what = "npy"): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${what}: not a .npy file`);
  const major = b[6]!;
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const text = b.toString("latin1", start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (/'fortran_order':\s*True/.test(text)) throw new Error(`${what}: Fortran-order arrays are not supported`);
  if (!descr || shapeText === undefined || !["<u2", "|u1", "<i8", "<f8", "<f4"].includes(descr)) throw new Error(`${what}: unsupported header ${text.trim()}`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const bytes = new Uint8Array(b.subarray(start + hlen));
  return { dtype: descr as NpyDtype, shape, bytes };
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFile(path), path);
}

/** A .npy of uint16 codes [frames, codesPerFrame]. */
export async function readCodesNpy(path: string): Promise<{ codes: Uint16Array; frames: number; perFrame: number }> {
  const a = await readNpy(path);
  if (a.dtype !== "<u2" || a.shape.length !== 2) throw new Error(`${path}: expected uint16 codes [frames, codes], got ${a.dtype} [${a.shape.join(", ")}]`);
  return { codes: new Uint16Array(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength / 2), frames: a.shape[0]!, perFrame: a.shape[1]! };
}
