/**
 * Where each tensor of a safetensors file lies, from its header alone (no data read): the graphs
 * point at these bytes as ONNX external data instead of copying hundreds of MB into protobuf.
 */
import { open } from "node:fs/promises";
import { z } from "zod";

const Entry = z.object({ dtype: z.string(), shape: z.array(z.number().int().nonnegative()), data_offsets: z.tuple([z.number(), z.number()]) });

export interface TensorLocation {
  dtype: string;
  shape: number[];
  /** Absolute byte offset in the file, and length. */
  offset: number;
  length: number;
}

export async function safetensorsLayout(path: string): Promise<Map<string, TensorLocation>> {
  const fh = await open(path, "r");
  try {
    const pre = Buffer.alloc(8);
    await fh.read(pre, 0, 8, 0);
    const n = Number(pre.readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000) throw new Error(`${path}: not a safetensors file (header length ${n})`);
    const head = Buffer.alloc(n);
    await fh.read(head, 0, n, 8);
    const json = JSON.parse(head.toString("utf8")) as Record<string, unknown>;
    const out = new Map<string, TensorLocation>();
    for (const [name, value] of Object.entries(json)) {
      if (name === "__metadata__") continue;
      const e = Entry.parse(value);
      out.set(name, { dtype: e.dtype, shape: e.shape, offset: 8 + n + e.data_offsets[0], length: e.data_offsets[1] - e.data_offsets[0] });
    }
    return out;
  } finally {
    await fh.close();
  }
}
