import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "@lwm/core";
import { Recipe, type VisionSource } from "@lwm/schemas";
import { readCorpus } from "./corpus.js";

function sourceOf(fields: Record<string, unknown>): VisionSource {
  const recipe = Recipe.parse({
    formatVersion: 1,
    name: "c",
    vqgan: "m",
    sources: [{ kind: "video-text", name: "v", ...fields }],
    stages: [{ name: "s", kind: "vision-language", seqLen: 2048, ropeTheta: 1, mixture: { v: 1 } }],
  });
  return recipe.sources[0] as VisionSource;
}

const PYTHON = process.env.LWM_PYTHON;

describe("corpus readers", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vision-corpus-"));
    await mkdir(join(dir, "data/clips"), { recursive: true });
  });

  it("JSONL: the column mapping, extra columns kept, paths relative to the corpus, a bad line kept as unreadable", async () => {
    await writeFile(
      join(dir, "data/c.jsonl"),
      ['{"path":"clips/a.mp4","text":"A","t0":1,"t1":2.5,"uid":7,"lang":"en"}', "[1,2]", '{"text":"no path"}', ""].join("\n"),
    );
    const corpus = await readCorpus(
      sourceOf({ corpus: "data/c.jsonl", columns: { media: "path", caption: "text", start: "t0", end: "t1", id: "uid" } }),
      0,
      dir,
    );
    expect(corpus.format).toBe("jsonl");
    expect(corpus.name).toBe("data/c.jsonl");
    expect(corpus.samples).toHaveLength(3);
    expect(corpus.samples[0]).toMatchObject({
      row: 0,
      media: "clips/a.mp4",
      mediaFile: "data/clips/a.mp4",
      caption: "A",
      start: 1,
      end: 2.5,
      id: "7",
      extra: { lang: "en" },
    });
    expect(corpus.samples[1]?.unreadable).toBe("the line is not a JSON object");
    expect(corpus.samples[2]).toMatchObject({ media: null, caption: "no path" });
  });

  it("CSV with a media root; a folder of media with <stem>.txt captions", async () => {
    await writeFile(join(dir, "data/c.csv"), 'file,caption\nx.png,"A, quoted"\n');
    const csv = await readCorpus(sourceOf({ corpus: "data/c.csv", mediaRoot: "data/clips", columns: { media: "file" } }), 0, dir);
    expect(csv.samples[0]).toMatchObject({ mediaFile: "data/clips/x.png", caption: "A, quoted" });

    await writeFile(join(dir, "data/clips/b.mp4"), "x");
    await writeFile(join(dir, "data/clips/b.txt"), "  B caption\n");
    await writeFile(join(dir, "data/clips/c.png"), "x");
    const folder = await readCorpus(sourceOf({ corpus: "data/clips" }), 0, dir);
    expect(folder.format).toBe("folder");
    expect(folder.samples.map((s) => [s.media, s.caption, s.id])).toEqual([
      ["b.mp4", "B caption", "b"],
      ["c.png", undefined, "c"],
    ]);
  });

  it("refuses an unknown extension and a missing corpus before any work, naming the field", async () => {
    await writeFile(join(dir, "data/c.tsv"), "x");
    await expect(readCorpus(sourceOf({ corpus: "data/c.tsv" }), 2, dir)).rejects.toThrow(/sources\[2\]\.format: cannot tell the format/);
    await expect(readCorpus(sourceOf({ corpus: "data/none.jsonl" }), 1, dir)).rejects.toBeInstanceOf(ConfigError);
  });

  it.skipIf(!PYTHON)("Parquet written by pyarrow (snappy, two row groups)", async () => {
    const path = join(dir, "data/c.parquet");
    const script = `import pyarrow as pa, pyarrow.parquet as pq
t = pa.table({"video": ["clips/a.mp4", "clips/b.mp4", None], "caption": ["A", "B", "C"], "start": [0.0, 1.5, None], "n": [1, 2, 3]})
pq.write_table(t, ${JSON.stringify(path)}, compression="snappy", row_group_size=2)`;
    const r = spawnSync(PYTHON as string, ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const corpus = await readCorpus(sourceOf({ corpus: "data/c.parquet", columns: { media: "video", start: "start" } }), 0, dir);
    expect(corpus.format).toBe("parquet");
    expect(corpus.samples.map((s) => [s.row, s.mediaFile, s.caption, s.start, s.extra])).toEqual([
      [0, "data/clips/a.mp4", "A", 0, { n: 1 }],
      [1, "data/clips/b.mp4", "B", 1.5, { n: 2 }],
      [2, null, "C", null, { n: 3 }],
    ]);
  });
  if (!PYTHON) console.warn("skipped: the Parquet corpus case needs pyarrow through $LWM_PYTHON");
});
