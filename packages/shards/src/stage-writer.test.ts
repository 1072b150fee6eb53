import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "./manifest.js";
import { ShardReader } from "./reader.js";
import type { PackedRow } from "./row.js";
import { writeStage } from "./stage-writer.js";
import { tempDir, TEST_LINEAGE as lineage, testStageMetadata } from "./test-helpers/shard-files.js";
import { randomRow, rng } from "./test-helpers/synthetic.js";
import { validate } from "./validate/validate.js";

const SEQ = 256;
const meta = testStageMetadata({ stage: "vl", stageKind: "vision-language", seqLen: SEQ, rowsPerBatch: 2 });
const r = rng(3);
const rows: PackedRow[] = Array.from({ length: 7 }, () => randomRow(r, SEQ));
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(async () => cleanup());

describe("writeStage", () => {
  it("rotates shards every rowsPerShard rows and writes a manifest, with the task counts, that validates", async () => {
    const out = join(dir, "vl");
    await mkdir(out);
    const manifest = await writeStage(out, meta, rows, {
      rowsPerShard: 3,
      sources: (totals) => ({ mixture: [{ source: "s", asked: 1, achieved: 1, tokens: totals.realTokens, examples: totals.segments }], inputs: [], lineage }),
    });
    expect(manifest.shards.map((s) => [s.file, s.rows])).toEqual([
      ["shard-00000.arrow", 3],
      ["shard-00001.arrow", 3],
      ["shard-00002.arrow", 1],
    ]);
    expect(manifest).toMatchObject({ formatVersion: 3, stageKind: "vision-language", stage: "vl", seqLen: SEQ, ...lineage });
    const tasks = rows.flatMap((row) => row.tasks!);
    const counts = Object.fromEntries([...new Set(tasks)].map((t) => [t, tasks.filter((x) => x === t).length]));
    expect(manifest.formatVersion === 3 && manifest.totals.tasks).toEqual(counts);
    expect(await readManifest(join(out, "manifest.json"))).toEqual(manifest);
    const back: PackedRow[] = [];
    for (const s of manifest.shards) {
      const reader = await ShardReader.open(join(out, s.file));
      for await (const row of reader.rows()) back.push(row);
      await reader.close();
    }
    expect(back.map((b) => Array.from(b.tokens))).toEqual(rows.map((b) => Array.from(b.tokens)));
    expect(back.map((b) => b.tasks)).toEqual(rows.map((b) => b.tasks));
    expect((await validate(out)).ok).toBe(true);
  });

  it("leaves no manifest and no half-written shard when the rows fail", async () => {
    const out = join(dir, "broken");
    await mkdir(out);
    function* failing() {
      yield rows[0]!;
      throw new Error("upstream broke");
    }
    await expect(writeStage(out, meta, failing(), { sources: () => ({ mixture: [], inputs: [], lineage }) })).rejects.toThrow(/upstream broke/);
    expect(await readdir(out)).toEqual([]);
  });

  it("refuses a current-format stage without its lineage", async () => {
    const out = join(dir, "nolineage");
    await mkdir(out);
    await expect(writeStage(out, meta, rows.slice(0, 1), { sources: () => ({ mixture: [], inputs: [] }) })).rejects.toThrow(/records its lineage/);
  });
});
