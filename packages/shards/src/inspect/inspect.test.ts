import { join } from "node:path";
import { LLAMA2_LWM_VOCAB, type ShardMetadata } from "@lwm/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeManifest } from "../manifest.js";
import { ShardReader } from "../reader.js";
import { assembleRow, type PackedRow } from "../row.js";
import { tempDir, testStageMetadata, writeTestStage } from "../test-helpers/shard-files.js";
import { randomRow, rng, textExample, visionExample } from "../test-helpers/synthetic.js";
import { validate } from "../validate/validate.js";
import { ShardWriter } from "../writer.js";
import { rowSegments } from "./row-detail.js";
import { sourceOf, summarizeShards } from "./summary.js";
import { shardPaths } from "./targets.js";

let dir: string;
let cleanup: () => Promise<void>;
let rows: PackedRow[];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const r = rng(21);
  rows = Array.from({ length: 9 }, () => randomRow(r, 1024));
  // Two shards (6 rows, 3 rows); the manifest lists them in the other order, on purpose.
  const written = await writeTestStage(dir, rows, { stage: "test", stageKind: "vision-language", seqLen: 1024, rowsPerBatch: 4, rowsPerShard: 6 });
  await writeManifest(dir, { ...written, shards: [...written.shards].reverse() });
});
afterAll(async () => cleanup());

describe("inspect helpers", () => {
  it("resolves a folder and a manifest to the manifest's shards, in its order", async () => {
    const [a, b] = [join(dir, "shard-00000.arrow"), join(dir, "shard-00001.arrow")];
    expect(await shardPaths(dir)).toEqual([b, a]);
    expect(await shardPaths(join(dir, "manifest.json"))).toEqual([b, a]);
    expect(await shardPaths(a)).toEqual([a]);
    await expect(shardPaths(join(dir, "none"))).rejects.toThrow(/ENOENT/);
  });

  it("summarises counts that match the rows written", async () => {
    const s = await summarizeShards(await shardPaths(dir));
    const sum = (f: (r: PackedRow) => number) => rows.reduce((n, r) => n + f(r), 0);
    const real = sum((r) => r.cuSeqlens.at(-1)!);
    const vision = sum((r) => r.vision.reduce((a, b) => a + b, 0));
    const visionLoss = sum((r) => r.vision.reduce((a, v, i) => a + (v & r.loss[i]!), 0));
    expect(s).toMatchObject({
      rows: 9,
      tokens: 9 * 1024,
      realTokens: real,
      visionTokens: vision,
      textTokens: real - vision,
      lossTokens: sum((r) => r.loss.reduce((a, b) => a + b, 0)),
      visionLossTokens: visionLoss,
      segments: sum((r) => r.cuSeqlens.length - 1),
    });
    expect(s.segmentLengths.reduce((n, b) => n + b.count, 0)).toBe(s.segments);
    const lengths = rows.flatMap((r) => Array.from(r.cuSeqlens.subarray(1), (end, k) => end - r.cuSeqlens[k]!));
    for (const b of s.segmentLengths) expect(b.count).toBe(lengths.filter((l) => l >= b.from && l < b.to).length);
    expect(s.sources.reduce((n, x) => n + x.tokens, 0)).toBe(real);
    const bySource = new Map<string, number>();
    for (const r of rows) r.provenance.forEach((p) => bySource.set(sourceOf(p), (bySource.get(sourceOf(p)) ?? 0) + 1));
    expect(new Map(s.sources.map((x) => [x.source, x.segments]))).toEqual(bySource);
  });

  it("splits a row into segments with spans, vision blocks and per-modality loss counts", () => {
    const row = rows.find((r) => r.vision.includes(1))!;
    const segs = rowSegments(row, LLAMA2_LWM_VOCAB);
    expect(segs.map((s) => [s.start, s.end])).toEqual(Array.from(row.cuSeqlens.subarray(1), (end, k) => [row.cuSeqlens[k], end]));
    for (const s of segs) {
      expect(s.spans[0]!.start).toBe(s.start);
      expect(s.spans.at(-1)!.end).toBe(s.end);
      expect(s.textTokens + s.visionTokens).toBe(s.length);
      for (const b of s.visionBlocks) {
        expect((b.end - b.start) % 257).toBe(0);
        expect(b.frames).toBe((b.end - b.start) / 257);
      }
      expect(s.weightText).toBe(s.textLossTokens === 0 ? 0 : Math.fround(1 / s.textLossTokens));
      expect(s.weightVision).toBe(s.visionLossTokens === 0 ? 0 : Math.fround(1 / s.visionLossTokens));
    }
    expect(segs.some((s) => s.visionBlocks.length > 0)).toBe(true);
  });

  describe("tasks", () => {
    const SEQ = 1024;
    const r = rng(5);
    /** A 1-frame video caption example (video→text): its layout alone looks like an image's. */
    const oneFrameVideo = (() => {
      for (;;) {
        const e = visionExample(r, 1, 12);
        if (e.task === "video-text") return e;
      }
    })();
    const row = assembleRow(SEQ, LLAMA2_LWM_VOCAB, [textExample(r, 40), oneFrameVideo, textExample(r, 30)]);
    const fields = { stage: "t", stageKind: "vision-language", seqLen: SEQ, rowsPerBatch: 2 } as const;

    it("counts a 1-frame video as video-text from the task column (format 3), in the summary and the row view", async () => {
      const d = join(dir, "tasks-v3");
      await writeTestStage(d, [row], fields);
      const s = await summarizeShards(await shardPaths(d));
      expect(s.meta?.formatVersion).toBe(3);
      expect(s.vision).toMatchObject({ clips: 1, frames: 1, tasksFromLayout: 0 });
      expect(s.vision.tasks.map((t) => [t.task, t.segments])).toEqual([
        ["text", 2],
        ["video-text", 1],
      ]);
      const reader = await ShardReader.open(join(d, "shard-00000.arrow"));
      const back = await reader.row(0);
      await reader.close();
      expect(back.tasks).toEqual(["text", "video-text", "text"]);
      expect(rowSegments(back, LLAMA2_LWM_VOCAB).map((seg) => [seg.task, seg.taskFromLayout])).toEqual([
        ["text", false],
        ["video-text", false],
        ["text", false],
      ]);
    });

    it("still reads a format 2 shard (no task column): rows without tasks, tasks read off the layout, and it validates", async () => {
      const path = join(dir, "tasks-v2.arrow");
      const meta: ShardMetadata = { ...testStageMetadata(fields), formatVersion: 2, stageKind: fields.stageKind };
      const writer = await ShardWriter.create(path, meta);
      await writer.append(row);
      await writer.close();
      const reader = await ShardReader.open(path);
      expect(reader.layout.schema.fields.map((f) => f.name)).not.toContain("task");
      const back = await reader.row(0);
      await reader.close();
      expect(back.tasks).toBeNull();
      expect(Array.from(back.tokens)).toEqual(Array.from(row.tokens));
      expect((await validate(path)).errors).toEqual([]);
      const s = await summarizeShards([path]);
      // The layout cannot tell a 1-frame video from an image: that is what format 3's column fixes.
      expect(s.vision.tasksFromLayout).toBe(3);
      expect(s.vision.tasks.map((t) => [t.task, t.segments])).toEqual([
        ["text", 2],
        ["image-text", 1],
      ]);
      expect(rowSegments(back, LLAMA2_LWM_VOCAB).map((seg) => [seg.task, seg.taskFromLayout])).toEqual([
        ["text", true],
        ["image-text", true],
        ["text", true],
      ]);
    });
  });
});
