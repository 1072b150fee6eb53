import { createHash } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ShardReader } from "./reader.js";
import type { PackedRow } from "./row.js";
import { ShardWriter } from "./writer.js";
import { tempDir, writeRandomShard } from "./test-helpers/shard-files.js";
import { randomRow, rng, testMetadata } from "./test-helpers/synthetic.js";

function expectRowsEqual(actual: PackedRow, expected: PackedRow, where: string): void {
  // Compare as plain arrays of the same typed-array class: bit-exact for every column.
  expect(actual.tokens.constructor, where).toBe(expected.tokens.constructor);
  expect(Array.from(actual.tokens), `${where} tokens`).toEqual(Array.from(expected.tokens));
  expect(Array.from(actual.vision), `${where} vision`).toEqual(Array.from(expected.vision));
  expect(Array.from(actual.loss), `${where} loss`).toEqual(Array.from(expected.loss));
  expect(Array.from(actual.cuSeqlens), `${where} cuSeqlens`).toEqual(Array.from(expected.cuSeqlens));
  expect(
    Buffer.from(actual.weightText.buffer, actual.weightText.byteOffset, actual.weightText.byteLength).equals(
      Buffer.from(expected.weightText.buffer, expected.weightText.byteOffset, expected.weightText.byteLength),
    ),
    `${where} weightText`,
  ).toBe(true);
  expect(
    Buffer.from(actual.weightVision.buffer, actual.weightVision.byteOffset, actual.weightVision.byteLength).equals(
      Buffer.from(expected.weightVision.buffer, expected.weightVision.byteOffset, expected.weightVision.byteLength),
    ),
    `${where} weightVision`,
  ).toBe(true);
  expect(actual.exampleIds, `${where} exampleIds`).toEqual(expected.exampleIds);
  expect(actual.provenance, `${where} provenance`).toEqual(expected.provenance);
}

describe("ShardWriter → ShardReader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(async () => cleanup());

  it("round-trips random multi-segment text+vision rows bit-exactly, across full and partial batches", async () => {
    const path = join(dir, "shard-00000.arrow");
    // 23 rows, 5 per batch: four full batches and a last one of 3 rows.
    const { rows, entry } = await writeRandomShard(path, { rows: 23, seqLen: 2048, rowsPerBatch: 5, seed: 7 });
    expect(rows.some((r) => r.vision.includes(1))).toBe(true);
    expect(rows.some((r) => r.cuSeqlens.length > 3)).toBe(true);

    const reader = await ShardReader.open(path);
    try {
      expect(reader.numRows).toBe(23);
      expect(reader.numBatches).toBe(5);
      expect(reader.batchLayout(4).rows).toBe(3);
      expect(reader.meta).toEqual(testMetadata(2048, 5));

      let i = 0;
      for await (const row of reader) {
        expectRowsEqual(row, rows[i]!, `row ${i} (sequential)`);
        i++;
      }
      expect(i).toBe(23);
      // Random access in a scrambled order, including the last partial batch.
      const order = [22, 0, 21, 5, 4, 20, 13, 1, 19];
      for (const r of order) expectRowsEqual(await reader.row(r), rows[r]!, `row ${r} (random access)`);
      await expect(reader.row(23)).rejects.toThrow(/out of range/);
    } finally {
      await reader.close();
    }

    const bytes = await readFile(path);
    expect(entry.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(entry.bytes).toBe(bytes.length);
    expect(entry.rows).toBe(23);
    expect(entry.tokens).toBe(23 * 2048);
    expect(entry.realTokens).toBe(rows.reduce((n, r) => n + r.cuSeqlens[r.cuSeqlens.length - 1]!, 0));
    expect(entry.lossTokens).toBe(rows.reduce((n, r) => n + r.loss.reduce((a, b) => a + b, 0), 0));
    expect(entry.segments).toBe(rows.reduce((n, r) => n + r.cuSeqlens.length - 1, 0));
  });

  it("stays under the bytes-per-token budget for long text rows", async () => {
    const path = join(dir, "text.arrow");
    const { entry } = await writeRandomShard(path, {
      rows: 8,
      seqLen: 32768,
      rowsPerBatch: 4,
      seed: 3,
      mix: { visionShare: 0.1, textTokens: [1000, 8000], frames: [1, 8], padChance: 0.2 },
    });
    expect(entry.bytes / entry.tokens).toBeLessThan(2.5);
  });

  it("leaves no file behind on abort, and only the final name after close", async () => {
    const r = rng(1);
    const aborted = await ShardWriter.create(join(dir, "a.arrow"), testMetadata(256, 2));
    await aborted.append(randomRow(r, 256));
    await aborted.abort();
    expect(await readdir(dir)).toEqual([]);

    const w = await ShardWriter.create(join(dir, "b.arrow"), testMetadata(256, 2));
    await w.append(randomRow(r, 256));
    expect((await readdir(dir)).filter((f) => f === "b.arrow")).toEqual([]);
    await w.close();
    expect(await readdir(dir)).toEqual(["b.arrow"]);
    expect((await stat(join(dir, "b.arrow"))).size).toBeGreaterThan(0);
  });

  it("refuses rows of the wrong length and rows past maxRows", async () => {
    const r = rng(2);
    const w = await ShardWriter.create(join(dir, "c.arrow"), testMetadata(256, 2), { maxRows: 1 });
    await expect(w.append(randomRow(r, 128))).rejects.toThrow(/seqLen 256/);
    await w.append(randomRow(r, 256));
    expect(w.full).toBe(true);
    await expect(w.append(randomRow(r, 256))).rejects.toThrow(/full/);
    await w.abort();
  });

  it("aborts a shard that would pass maxBytes, leaving no file", async () => {
    const r = rng(4);
    const w = await ShardWriter.create(join(dir, "big.arrow"), testMetadata(4096, 1), { maxBytes: 20_000 });
    await w.append(randomRow(r, 4096)); // ≈ 9.5 KB
    await expect(w.append(randomRow(r, 4096))).rejects.toThrow(/would pass 20000 bytes/);
    expect(await readdir(dir)).toEqual([]);
    await expect(w.append(randomRow(r, 4096))).rejects.toThrow(/after aborted/);
  });

  it("refuses an append while the previous one is still writing", async () => {
    const r = rng(6);
    const w = await ShardWriter.create(join(dir, "e.arrow"), testMetadata(256, 1));
    const first = w.append(randomRow(r, 256)); // fills the batch: writes it
    await expect(w.append(randomRow(r, 256))).rejects.toThrow(/await each append/);
    await first;
    await w.abort();
  });

  it("refuses a file that is not a shard, naming the rule", async () => {
    const path = join(dir, "not-a-shard.arrow");
    await writeFile(path, "hello, this is text\n");
    await expect(ShardReader.open(path)).rejects.toMatchObject({ rule: "arrow.stream" });
  });

  it("rejects invalid metadata before creating a file", async () => {
    await expect(ShardWriter.create(join(dir, "d.arrow"), { ...testMetadata(256, 2), seqLen: 0 })).rejects.toThrow(/seqLen/);
    expect(await readdir(dir)).toEqual([]);
  });
});
