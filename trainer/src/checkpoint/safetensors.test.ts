import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensors, writeSafetensors, type TensorMap } from "./safetensors.js";

function awkwardValues(n: number): Float32Array {
  // Values whose bit patterns would not survive a text or double round trip by accident.
  const out = new Float32Array(n);
  const special = [0, -0, 1e-45, -3.4028234663852886e38, Math.PI, Number.NaN, Infinity, -Infinity, 1 / 3];
  for (let i = 0; i < n; i++) out[i] = special[i % special.length]! * (1 + i * 1e-3);
  return out;
}

/** A file laid out by hand: 8-byte header length, the JSON header, then `data` (for headers the writer would never make). */
function handMade(name: string, header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>, data: Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), "st-")), name);
  const headerJson = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerJson.length));
  writeFileSync(path, Buffer.concat([len, headerJson, data]));
  return path;
}

describe("safetensors", () => {
  it("round-trips F32 tensors bit-exactly, with metadata, and tiles the data section", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st-"));
    const path = join(dir, "m.safetensors");
    const tensors: TensorMap = new Map([
      ["b.weight", { shape: [3, 5], data: awkwardValues(15) }],
      ["a.bias", { shape: [7], data: awkwardValues(7) }],
      ["scalar", { shape: [], data: new Float32Array([42]) }],
    ]);
    await writeSafetensors(path, tensors, { format: "pt" });
    expect(readdirSync(dir)).toEqual(["m.safetensors"]); // no temp file left behind

    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    expect(header["a.bias"]).toEqual({ dtype: "F32", shape: [7], data_offsets: [0, 28] });
    expect(header["b.weight"]!.data_offsets).toEqual([28, 88]);
    expect(bytes.length).toBe(8 + n + 92);

    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ format: "pt" });
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.shape).toEqual(t.shape);
      expect(Buffer.from(got.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
  });

  it("reads F16 and BF16 tensors as the float32 values they encode", async () => {
    // 1.0, -2.0, 0.5 as IEEE half (0x3c00, 0xc000, 0x3800) and as bfloat16 (0x3f80, 0xc000, 0x3f00).
    const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer);
    const bf16 = Buffer.from(new Uint16Array([0x3f80, 0xc000, 0x3f00]).buffer);
    const path = handMade(
      "h.safetensors",
      { h: { dtype: "F16", shape: [3], data_offsets: [0, 6] }, b: { dtype: "BF16", shape: [3], data_offsets: [6, 12] } },
      Buffer.concat([f16, bf16]),
    );
    const back = await readSafetensors(path);
    expect([...back.tensors.get("h")!.data]).toEqual([1, -2, 0.5]);
    expect([...back.tensors.get("b")!.data]).toEqual([1, -2, 0.5]);
    expect(back.dtypes.get("b")).toBe("BF16");
  });

  it("rejects a header whose byte ranges leave a hole, naming the tensor", async () => {
    const path = handMade("bad.safetensors", { x: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8));
    await expect(readSafetensors(path)).rejects.toThrow(/tensor "x" starts at 4, expected 0/);
  });

  it("rejects a range that does not match dtype × shape", async () => {
    const path = handMade("bad.safetensors", { x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8));
    await expect(readSafetensors(path)).rejects.toThrow(/tensor "x": byte range \[0, 8\) does not hold F32\[3\]/);
  });
});
