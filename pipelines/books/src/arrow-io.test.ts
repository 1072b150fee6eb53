import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ArrowStreamFile, readArrowRows, type ArrowRow } from "./arrow-io.js";

async function rows(path: string, onSchema?: (m: Map<string, string>) => void): Promise<ArrowRow[]> {
  const out: ArrowRow[] = [];
  for await (const r of readArrowRows(path, onSchema)) out.push(r);
  return out;
}

describe("Arrow token-list streams", () => {
  it("round-trips batches of strings (with nulls) and uint16 token lists, with schema metadata", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-arrow-"));
    const path = join(dir, "a.arrow");
    const w = new ArrowStreamFile(path, "uint16", new Map([["format", "test/1"]]));
    w.write({ id: { kind: "utf8", values: ["a", "b"] }, title: { kind: "utf8", values: ["T", null] }, tokens: { kind: "tokens", values: [new Uint16Array([1, 65535]), new Uint16Array([])] } });
    w.write({ id: { kind: "utf8", values: ["c"] }, title: { kind: "utf8", values: ["U"] }, tokens: { kind: "tokens", values: [new Uint16Array([7, 8, 9])] } });
    expect(await w.close()).toBe(true);
    let metadata = new Map<string, string>();
    const got = await rows(path, (m) => (metadata = m));
    expect(metadata.get("format")).toBe("test/1");
    expect(got.map((r) => r.strings)).toEqual([{ id: "a", title: "T" }, { id: "b", title: null }, { id: "c", title: "U" }]);
    expect(got.map((r) => [...r.tokens])).toEqual([[1, 65535], [], [7, 8, 9]]);
    expect(got[0]?.tokens).toBeInstanceOf(Uint16Array);
    expect(await readdir(dir)).toEqual(["a.arrow"]);
  });

  it("keeps uint32 ids above 65535", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-arrow-"));
    const w = new ArrowStreamFile(join(dir, "b.arrow"), "uint32", new Map());
    w.write({ id: { kind: "utf8", values: ["x"] }, tokens: { kind: "tokens", values: [new Uint32Array([70000, 1, 4_000_000_000])] } });
    await w.close();
    const [row] = await rows(join(dir, "b.arrow"));
    expect(row?.tokens).toBeInstanceOf(Uint32Array);
    expect([...(row?.tokens ?? [])]).toEqual([70000, 1, 4_000_000_000]);
  });

  it("writes nothing for no rows, and rejects ragged columns", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-arrow-"));
    const w = new ArrowStreamFile(join(dir, "c.arrow"), "uint16", new Map());
    w.write({ id: { kind: "utf8", values: [] }, tokens: { kind: "tokens", values: [] } });
    expect(await w.close()).toBe(false);
    expect(await readdir(dir)).toEqual([]);
    const bad = new ArrowStreamFile(join(dir, "d.arrow"), "uint16", new Map());
    expect(() => bad.write({ id: { kind: "utf8", values: ["a", "b"] }, tokens: { kind: "tokens", values: [new Uint16Array([1])] } })).toThrow(/column tokens: 1 values, expected 2/);
    await bad.abort();
    expect(await readdir(dir)).toEqual([]);
  });
});
