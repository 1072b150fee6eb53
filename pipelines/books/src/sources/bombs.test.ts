/**
 * Decompression bombs and over-long lines: memory stays bounded by the line bound plus a constant,
 * whatever a compressed input inflates to, and the reject says what really happened.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readJsonl } from "./jsonl.js";
import type { SourceItem } from "./types.js";

const MiB = 1024 * 1024;

/** A .gz of `total` bytes of "x" with no newline, written in a stream (the test never holds it). */
async function gzipBomb(path: string, total: number): Promise<void> {
  const gzip = createGzip({ level: 1 });
  const done = once(gzip.pipe(createWriteStream(path)), "finish");
  const block = Buffer.alloc(MiB, "x");
  for (let i = 0; i < total / MiB; i += 1) if (!gzip.write(block)) await once(gzip, "drain");
  gzip.end();
  await done;
}

/** A zstd frame of RLE blocks (4 bytes each → 128 KiB of "x"): `total` bytes from a file of total/32768 bytes. */
function zstdBomb(total: number, windowLog = 17): Uint8Array {
  const blocks = total / (128 * 1024);
  const out = new Uint8Array(6 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]);
  for (let b = 0; b < blocks; b += 1) {
    const header = (b === blocks - 1 ? 1 : 0) | (1 << 1) | ((128 * 1024) << 3);
    out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x78], 6 + b * 4);
  }
  return out;
}

/** Reads every item while sampling the process's resident memory; returns the items and the peak growth. */
async function readMeasured(path: string, maxRecordBytes: number): Promise<{ items: SourceItem[]; peakGrowth: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const items: SourceItem[] = [];
  try {
    for await (const item of readJsonl({ path, name: "bomb", sha256: "0".repeat(64), fields: { text: "text" } }, undefined, maxRecordBytes)) {
      peak = Math.max(peak, process.memoryUsage.rss());
      items.push(item);
    }
  } finally {
    clearInterval(timer);
  }
  return { items, peakGrowth: Math.max(peak, process.memoryUsage.rss()) - base };
}

const reasons = (items: SourceItem[]): string[] => items.map((i) => (i.kind === "reject" ? i.reject.reason : "document"));

describe("decompression is bounded by maxDocumentBytes plus a constant", () => {
  it("a .jsonl.gz inflating to 256 MiB without a newline: one 'record too large' reject, bounded memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bomb-gz-"));
    const path = join(dir, "bomb.jsonl.gz");
    await gzipBomb(path, 256 * MiB);
    const { items, peakGrowth } = await readMeasured(path, MiB);
    expect(reasons(items)).toEqual([`record too large: ${256 * MiB} bytes > maxDocumentBytes ${MiB}`]);
    expect(peakGrowth).toBeLessThan(160 * MiB);
  }, 120_000);

  it("a .jsonl.zst inflating to 2 GiB without a newline: one 'record too large' reject, bounded memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bomb-zst-"));
    const path = join(dir, "bomb.jsonl.zst");
    await writeFile(path, zstdBomb(2048 * MiB));
    const { items, peakGrowth } = await readMeasured(path, MiB);
    expect(reasons(items)).toEqual([`record too large: ${2048 * MiB} bytes > maxDocumentBytes ${MiB}`]);
    expect(peakGrowth).toBeLessThan(160 * MiB);
  }, 120_000);

  it("a zstd frame asking for a huge window is refused before anything is allocated, with that reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bomb-window-"));
    const path = join(dir, "window.jsonl.zst");
    await writeFile(path, zstdBomb(128 * 1024, 31));
    const { items, peakGrowth } = await readMeasured(path, MiB);
    expect(reasons(items)).toEqual([
      `corrupt zstd stream: zstd frame at byte 0 asks for a ${2 ** 31}-byte window, over the ${128 * MiB}-byte limit (as zstd -d refuses by default) (lines from here on skipped)`,
    ]);
    expect(peakGrowth).toBeLessThan(160 * MiB);
  });

  it("good records around a long line survive, in a .gz", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bomb-mixed-"));
    const good = JSON.stringify({ text: "a good record" });
    const text = `${good}\n${JSON.stringify({ text: "y".repeat(3 * MiB) })}\n${good}\n`;
    const { gzipSync } = await import("node:zlib");
    await writeFile(join(dir, "m.jsonl.gz"), gzipSync(text));
    const { items } = await readMeasured(join(dir, "m.jsonl.gz"), MiB);
    expect(reasons(items)).toEqual(["document", `record too large: ${3 * MiB + 11} bytes > maxDocumentBytes ${MiB}`, "document"]);
  });
});
