import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { decompress, fileChunks, lines } from "./byte-stream.js";
import { jsonlLineBytes, jsonlRanges, readJsonl } from "./jsonl.js";

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("byte streams", () => {
  it("splits lines across chunk seams with their byte offsets", async () => {
    const text = "ab\nc€d\n\nlast";
    const data = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 100]) {
      const got = await collect(lines(chunked(data, size)));
      expect(got.map((l) => new TextDecoder().decode(l.bytes))).toEqual(["ab", "c€d", "", "last"]);
      expect(got.map((l) => [l.start, l.end])).toEqual([
        [0, 2],
        [3, 8],
        [9, 9],
        [10, 14],
      ]);
    }
  });

  it("gunzips a stream in pieces", async () => {
    const data = new TextEncoder().encode("x".repeat(100_000) + "\nend");
    const got = await collect(decompress(chunked(gzipSync(data), 777), "gzip"));
    expect(Buffer.concat(got).toString()).toBe("x".repeat(100_000) + "\nend");
  });

  it("cuts an uncompressed JSONL file into line-aligned ranges with line numbers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-ranges-"));
    const path = join(dir, "a.jsonl");
    const rows = Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `row ${i} ${"z".repeat(i * 3)}` }));
    await writeFile(path, rows.join("\n") + "\n");
    const ranges = await jsonlRanges(path, 40);
    expect(ranges[0]?.start).toBe(0);
    for (let i = 1; i < ranges.length; i += 1) expect(ranges[i]?.start).toBe(ranges[i - 1]?.end);
    const all: { line: number; text: string; l: { start: number; end: number } }[] = [];
    for (const r of ranges) {
      const got = await collect(lines(fileChunks(path, r.start, r.end), r.start));
      got.forEach((l, k) => all.push({ line: r.firstLine + k, text: new TextDecoder().decode(l.bytes), l }));
    }
    expect(all.map((a) => a.text)).toEqual(rows);
    expect(all.map((a) => a.line)).toEqual(rows.map((_, i) => i));
    const third = all[3]?.l;
    expect(new TextDecoder().decode(await jsonlLineBytes(path, third?.start ?? 0, third?.end ?? 0))).toBe(rows[3]);
  });
});

describe("readJsonl", () => {
  it("streams records with line numbers and quarantines a record over the size bound", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-jsonl-"));
    const path = join(dir, "r.jsonl");
    await writeFile(path, [JSON.stringify({ text: "short" }), JSON.stringify({ text: "x".repeat(500) }), JSON.stringify({ text: "again" })].join("\n"));
    const file = { path, name: "r.jsonl", sha256: "0".repeat(64), fields: { text: "text" } };
    const items = await collect(readJsonl(file, undefined, 100));
    expect(items.map((i) => (i.kind === "document" ? i.document.text : i.reject.reason))).toEqual([
      "short",
      "record too large: 511 bytes > maxDocumentBytes 100",
      "again",
    ]);
    const third = items[2];
    expect(third?.kind === "document" && third.document.provenanceOf(0, 5)).toMatchObject({ kind: "jsonl", line: 2, bytes: { start: 529, end: 545 } });
  });
});
