/**
 * Every input format of the books step through `lwm run`: .jsonl (split into several byte-range
 * units), .jsonl.gz (fflate), .jsonl.zst (written by the zstd CLI), Parquet written by an
 * independent writer (polars: dictionary pages, snappy and zstd, several row groups) and an EPUB
 * built here. Ids must equal one-call tokenization of each re-cleaned provenance slice.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { EXAMPLE_COLUMNS, readExamplesIndex } from "@lwm/shards";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { beforeAll, describe, expect, it } from "vitest";
import { buildEpub, collectExamples, gutenbergFile, prose, readRejects, recipeOf, repoRoot, verifyDocumentTokens, writeRecipe } from "./books-helpers.js";
import { lwm } from "./cli.js";

const POLARS_DIR = join(repoRoot, "tests/interop/node_modules/nodejs-polars");
const hasPolars = existsSync(POLARS_DIR);
if (!hasPolars) console.warn(`skipped: ${POLARS_DIR} not found (npm ci --prefix tests/interop installs it); Parquet cases need an independent writer`);
const hasZstd = spawnSync("zstd", ["--version"]).status === 0;
if (!hasZstd) console.warn("skipped: the zstd CLI is not installed (apt-get install zstd); the .jsonl.zst case needs a zstd writer");

/** The part of nodejs-polars this test uses. */
interface PolarsFrame {
  lazy(): { sinkParquet(path: string, options: { compression: "snappy" | "zstd"; rowGroupSize: number }): unknown };
}
interface Polars {
  DataFrame(columns: Record<string, (string | null)[]>): PolarsFrame;
  readIPCStream(data: Buffer): { height: number; columns: string[]; getColumn(name: string): { toArray(): unknown[] } };
}

interface Row {
  id: string;
  title: string;
  lang: string;
  body: string;
  /** What cleaning must make of the body. */
  cleaned: string;
}

/** Records of generated prose; the second one is a whole PG file whose framing must go. */
function rows(seed: number, n: number, words: number): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const text = prose(seed * 100 + i, words + 37 * i);
    return {
      id: `doc-${seed}-${i}`,
      title: `Record ${seed}.${i}`,
      lang: i % 3 === 0 ? "en" : "fr",
      body: i === 1 ? gutenbergFile(`Record ${seed}.${i}`, "French", text, { crlf: true }) : text,
      cleaned: text,
    };
  });
}

const jsonl = (rs: Row[]) => rs.map((r) => JSON.stringify({ id: r.id, title: r.title, lang: r.lang, text: r.body })).join("\n") + "\n";

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer();
});

describe("books step: input formats", () => {
  it("jsonl, jsonl.gz, jsonl.zst, parquet (polars: dictionary, snappy, zstd) and epub", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-formats-"));
    const data = join(dir, "data");
    await mkdir(data);
    const expected = new Map<string, { rows: Row[]; kind: string }>();

    const plain = rows(1, 12, 300);
    await writeFile(join(data, "a.jsonl"), jsonl(plain));
    expected.set("data/a.jsonl", { rows: plain, kind: "jsonl" });
    const gz = rows(2, 5, 200);
    await writeFile(join(data, "b.jsonl.gz"), gzipSync(new TextEncoder().encode(jsonl(gz))));
    expected.set("data/b.jsonl.gz", { rows: gz, kind: "jsonl" });
    if (hasZstd) {
      const zst = rows(3, 5, 200);
      await writeFile(join(dir, "c.jsonl"), jsonl(zst));
      expect(spawnSync("zstd", ["-q", "-19", join(dir, "c.jsonl"), "-o", join(data, "c.jsonl.zst")]).status).toBe(0);
      expected.set("data/c.jsonl.zst", { rows: zst, kind: "jsonl" });
    }
    if (hasPolars) {
      const pl = createRequire(import.meta.url)(POLARS_DIR) as Polars;
      for (const [name, compression, seed] of [
        ["d.parquet", "snappy", 4],
        ["e.parquet", "zstd", 5],
      ] as const) {
        const rs = rows(seed, 9, 250);
        const frame = pl.DataFrame({ id: rs.map((r) => r.id), title: rs.map((r) => r.title), lang: rs.map((r) => r.lang), text: rs.map((r) => r.body) });
        const sink = frame.lazy().sinkParquet(join(data, name), { compression, rowGroupSize: 4 }) as { collect?: () => unknown } | undefined;
        if (sink && typeof sink.collect === "function") await sink.collect();
        expected.set(`data/${name}`, { rows: rs, kind: "parquet" });
        // The independent writer really used dictionary pages and the asked-for codec.
        const meta = await parquetMetadataAsync(await asyncBufferFromFile(join(data, name)));
        const chunks = meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data));
        expect(chunks.some((m) => m?.encodings.includes("RLE_DICTIONARY"))).toBe(true);
        expect(new Set(chunks.map((m) => m?.codec))).toEqual(new Set([compression.toUpperCase()]));
      }
    }
    const chapters = [prose(61, 500), prose(62, 400), prose(63, 300)];
    await writeFile(join(data, "f.epub"), buildEpub("Ein Buch", "de-AT", chapters));

    const recipePath = await writeRecipe(
      dir,
      recipeOf({
        sources: [{ kind: "books", name: "mixed", paths: ["data"], idField: "id", titleField: "title", languageField: "lang" }],
        steps: { books: { unitBytes: 6000 } },
      }),
    );
    const out = join(dir, "out");
    const r = await lwm(["run", "--steps", "books", recipePath, "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as { units: { planned: number } }[];
    expect(await readRejects(out)).toEqual([]);

    const { documents, texts } = await verifyDocumentTokens(out, dir, { text: "text" }, tokenizer);
    for (const [file, { rows: rs, kind }] of expected) {
      const docs = documents.filter((d) => d.provenance.kind === kind && "file" in d.provenance && d.provenance.file === file);
      expect(
        docs.map((d) => d.sourceId),
        file,
      ).toEqual(rs.map((r) => r.id));
      expect(docs.map((d) => d.title)).toEqual(rs.map((r) => r.title));
      expect(docs.map((d) => d.language)).toEqual(rs.map((r) => r.lang));
      expect(docs.map((d) => texts.get(d.documentId))).toEqual(rs.map((r) => r.cleaned));
      if (kind === "parquet") expect(new Set(docs.map((d) => (d.provenance.kind === "parquet" ? d.provenance.rowGroup : -1)))).toEqual(new Set([0, 1, 2]));
    }
    // a.jsonl (about 24 KB) was cut into several byte-range units of about 6 KB, lines in order.
    const lines = documents
      .filter((d) => d.provenance.kind === "jsonl" && d.provenance.file === "data/a.jsonl")
      .map((d) => (d.provenance.kind === "jsonl" ? d.provenance.line : -1));
    expect(lines).toEqual(plain.map((_, i) => i));
    expect(report?.units.planned).toBeGreaterThan(expected.size * 2 + 2);

    if (hasPolars) {
      // The examples files are Arrow IPC streams that another implementation reads as they are.
      const pl = createRequire(import.meta.url)(POLARS_DIR) as Polars;
      const index = await readExamplesIndex(join(out, "work/books/examples/full"));
      const part = index.parts[0];
      const frame = pl.readIPCStream(await readFile(join(out, "work/books/examples/full", part?.file ?? "")));
      expect(frame.height).toBe(part?.examples);
      expect(frame.columns).toEqual([...EXAMPLE_COLUMNS]);
      const ours = await collectExamples(out, "full");
      expect((frame.getColumn("example_id").toArray() as string[])[0]).toBe(ours[0]?.exampleId);
      expect((frame.getColumn("tokens").toArray() as number[][])[0]).toEqual([...(ours[0]?.tokens ?? [])]);
      expect((frame.getColumn("loss").toArray() as boolean[][])[0]).toEqual([...(ours[0]?.loss ?? [])].map(Boolean));
      expect((frame.getColumn("vision").toArray() as boolean[][])[0]).toEqual([...(ours[0]?.vision ?? [])].map(Boolean));
    }

    const epub = documents.find((d) => d.provenance.kind === "epub");
    expect(epub).toMatchObject({ title: "Ein Buch", language: "de" });
    expect(epub?.provenance).toMatchObject({ entries: ["OEBPS/text/ch1.xhtml", "OEBPS/text/ch2.xhtml", "OEBPS/text/ch3.xhtml"] });
    const epubText = texts.get(epub?.documentId as string) as string;
    expect(epubText.startsWith(`Chapter 1\n${(chapters[0] as string).split("\n\n")[0]}`)).toBe(true);
    expect(epubText.indexOf("Chapter 2")).toBeLessThan(epubText.indexOf("Chapter 3"));
  }, 120_000);
});
