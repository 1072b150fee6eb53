/**
 * Decompression bombs and over-long lines: memory stays bounded by the line bound plus a constant,
 * whatever a compressed input inflates to, and the reject says what really happened.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeGzipBomb, zstdBomb } from "../test-helpers/bombs.js";
import { readJsonl } from "./jsonl.js";
import type { SourceItem } from "./types.js";

const MiB = 1024 * 1024;

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
    await writeGzipBomb(path, 256 * MiB);
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
