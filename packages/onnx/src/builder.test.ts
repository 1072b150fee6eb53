import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder, ONNX_TYPE, i } from "./index.js";

describe("GraphBuilder", () => {
  it("raw initializers, casts and uint16 outputs run under onnxruntime", async () => {
    const g = new GraphBuilder("t");
    const x = g.input("x", ["n", 3], "uint8");
    const w = g.initializer(new Float32Array([1, 2, 3]), [3]);
    const y = g.mul(g.op("Cast", [x], { to: i(ONNX_TYPE.float) }), w);
    g.output("y", y);
    g.output("arg", g.op("Cast", [g.op("ArgMax", [y], { axis: i(1), keepdims: i(0) })], { to: i(ONNX_TYPE.uint16) }), "uint16");
    const s = await ort.InferenceSession.create(g.toBytes());
    const out = await s.run({ x: new ort.Tensor("uint8", new Uint8Array([1, 1, 1, 9, 1, 1]), [2, 3]) });
    expect([...(out.y!.data as Float32Array)]).toEqual([1, 2, 3, 9, 2, 3]);
    expect(out.arg!.type).toBe("uint16");
    expect([...(out.arg!.data as Uint16Array)]).toEqual([2, 0]);
  });

  it("initializers in an external data file shared by two models", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lwm-onnx-"));
    try {
      const table = new Float32Array([10, 20, 30, 40]);
      await writeFile(join(dir, "table.bin"), new Uint8Array(table.buffer));
      for (const name of ["a", "b"]) {
        const g = new GraphBuilder(name);
        const idx = g.input("idx", ["n"], "int64");
        const t = g.initializer(table, [4], { file: "table.bin", offset: 0, length: 16 });
        g.output("v", g.op("Gather", [t, idx]));
        await writeFile(join(dir, `${name}.onnx`), g.toBytes());
        const s = await ort.InferenceSession.create(join(dir, `${name}.onnx`));
        const out = await s.run({ idx: new ort.Tensor("int64", new BigInt64Array([3n, 0n]), [2]) });
        expect([...(out.v!.data as Float32Array)]).toEqual([40, 10]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
