/**
 * Sources and stages: a stage takes only the books sources in its mixture; a file listed by two
 * sources is tokenized once and counted once.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readExamplesIndex, readStageExamples } from "@lwm/shards";
import { describe, expect, it } from "vitest";
import { collectExamples, prose, readDocuments, readRejects, writeRecipe } from "./books-helpers.js";
import { lwm } from "./cli.js";

describe("books step: sources per stage", () => {
  it("puts each source's documents only in the stages that mix it, and a shared file once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-sources-"));
    await writeFile(join(dir, "shared.txt"), prose(31, 700));
    await writeFile(join(dir, "only-b.txt"), prose(32, 900));
    const recipePath = await writeRecipe(dir, {
      formatVersion: 1,
      name: "sources",
      sources: [
        { kind: "books", name: "a", paths: ["shared.txt"] },
        { kind: "books", name: "b", paths: ["shared.txt", "only-b.txt"] },
      ],
      stages: [
        { name: "sa", seqLen: 256, ropeTheta: 1e6, mixture: { a: 1 } },
        { name: "sb", seqLen: 256, ropeTheta: 1e6, mixture: { b: 1 } },
      ],
    });
    const out = join(dir, "out");
    const r = await lwm(["run", "--steps", "books", recipePath, "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as { units: { planned: number } }[];
    // 2 tokenize units (the shared file is tokenized once) + 3 window units: the shared file for a (sa) and for b (sb), only-b for b.
    expect(report?.units.planned).toBe(5);

    expect((await readDocuments(out)).map((d) => ("file" in d.provenance ? d.provenance.file : ""))).toEqual(["shared.txt", "only-b.txt"]);
    expect(await readRejects(out)).toEqual([]);
    const files = async (stage: string) => [...new Set((await collectExamples(out, stage)).map((e) => ("file" in e.provenance ? e.provenance.file : "")))];
    expect(await files("sa")).toEqual(["shared.txt"]);
    expect(await files("sb")).toEqual(["shared.txt", "only-b.txt"]);
    const sb = await readExamplesIndex(join(out, "work/books/examples/sb"));
    expect(sb.sources).toEqual(["b"]);
    expect(sb.parts.map((p) => p.source)).toEqual(["b", "b"]);
    // Read by source (as the pack step does): every example of the stage is b's.
    const bySource = async (source: string) => {
      const seen = new Set<string>();
      for await (const e of readStageExamples(join(out, "work/books/examples/sb"), { source })) seen.add("file" in e.provenance ? e.provenance.file : "");
      return [...seen];
    };
    expect(await bySource("a")).toEqual([]);
    expect(await bySource("b")).toEqual(["shared.txt", "only-b.txt"]);
  }, 60_000);
});
