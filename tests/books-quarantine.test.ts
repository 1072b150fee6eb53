/**
 * Bad inputs next to good ones: each bad record or file lands in rejects.jsonl with its source,
 * position and a clear reason, the good ones go through, and the run succeeds.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLAMA2_TOKENIZER_JSON, loadTokenizer } from "@lwm/tokenizer";
import { describe, expect, it } from "vitest";
import { buildEpub, prose, readDocuments, readRejects, recipeOf, repoRoot, verifyDocumentTokens, writeRecipe } from "./books-helpers.js";
import { lwm } from "./cli.js";

const POLARS_DIR = join(repoRoot, "tests/interop/node_modules/nodejs-polars");
const hasPolars = existsSync(POLARS_DIR);
if (!hasPolars) console.warn(`skipped: ${POLARS_DIR} not found; the bad-Parquet cases need polars to write the Parquet files`);

interface Polars {
  DataFrame(columns: Record<string, string[]>): { writeParquet(path: string, options: { compression: "snappy" }): void };
}

describe("books step: quarantine", () => {
  it("quarantines each bad file or record with a reason and keeps the good ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-bad-"));
    const data = join(dir, "data");
    await mkdir(data);
    const good = prose(7, 800);
    await writeFile(join(data, "a-good.txt"), good);
    await writeFile(join(data, "b-latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await writeFile(
      join(data, "c-binary.txt"),
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.alloc(64, 7)]),
    );
    await writeFile(join(data, "d-empty.txt"), "");
    await writeFile(join(data, "e-same-as-a.txt"), `\uFEFF${good}\r\n`);
    const lines = [
      JSON.stringify({ text: prose(8, 200) }),
      JSON.stringify({ text: prose(9, 200) }),
      '{"text": "an unterminated string',
      JSON.stringify({ body: "no text field" }),
      "[1, 2, 3]",
      Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]).toString("latin1"),
      "",
      JSON.stringify({ text: prose(10, 200) }),
    ];
    await writeFile(join(data, "f-records.jsonl"), Buffer.from(lines.join("\n") + "\n", "latin1"));
    await writeFile(join(data, "g-corrupt.epub"), buildEpub("x", "en", [prose(11, 50)]).subarray(0, 100));
    if (hasPolars) {
      const pl = createRequire(import.meta.url)(POLARS_DIR) as Polars;
      pl.DataFrame({ text: [prose(12, 300), prose(13, 300)] }).writeParquet(join(dir, "whole.parquet"), { compression: "snappy" });
      const whole = await readFile(join(dir, "whole.parquet"));
      await writeFile(join(data, "h-truncated.parquet"), whole.subarray(0, Math.floor(whole.length / 2)));
      pl.DataFrame({ body: [prose(14, 100)] }).writeParquet(join(data, "i-no-text.parquet"), { compression: "snappy" });
      await writeFile(join(data, "j-good.parquet"), whole);
    }

    const recipePath = await writeRecipe(dir, recipeOf({ sources: [{ kind: "books", name: "mixed", paths: ["data"] }] }));
    const out = join(dir, "out");
    const r = await lwm(["run", "--steps", "books", recipePath, "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);

    const rejects = await readRejects(out);
    const expected: [string, Record<string, unknown>, RegExp][] = [
      ["data/b-latin1.txt", { bytes: { start: 0, end: 5 } }, /^invalid UTF-8 at byte 3$/],
      ["data/c-binary.txt", { bytes: { start: 0, end: 76 } }, /^binary content: NUL byte at byte 8, not a text file$/],
      ["data/d-empty.txt", { bytes: { start: 0, end: 0 } }, /^empty file$/],
      ["data/f-records.jsonl", { line: 2 }, /^malformed JSON: /],
      ["data/f-records.jsonl", { line: 3 }, /^missing text field "text"$/],
      ["data/f-records.jsonl", { line: 4 }, /^malformed record: not a JSON object$/],
      ["data/f-records.jsonl", { line: 5 }, /^invalid UTF-8 at byte 13$/],
      ["data/g-corrupt.epub", {}, /^corrupt EPUB: not a readable zip archive/],
      ...(hasPolars
        ? ([
            ["data/h-truncated.parquet", {}, /^unreadable Parquet file: /],
            ["data/i-no-text.parquet", {}, /^missing text column "text" \(columns: body\)$/],
          ] as [string, Record<string, unknown>, RegExp][])
        : []),
      // Exact duplicates are decided last (finalize), after every unit's rejects.
      ["data/e-same-as-a.txt", {}, /^duplicate: same cleaned text as data\/a-good.txt/],
    ];
    expect(rejects.map((x) => x.source)).toEqual(expected.map(([source]) => source));
    rejects.forEach((x, i) => {
      const [, position, reason] = expected[i] as [string, Record<string, unknown>, RegExp];
      expect(x.reason).toMatch(reason);
      expect(x.position).toMatchObject(position);
    });

    const documents = await readDocuments(out);
    const kept = documents.filter((d) => d.duplicateOf === undefined);
    expect(kept.map((d) => ("file" in d.provenance ? d.provenance.file : "") + (d.provenance.kind === "jsonl" ? `:${d.provenance.line}` : ""))).toEqual([
      "data/a-good.txt",
      "data/f-records.jsonl:0",
      "data/f-records.jsonl:1",
      "data/f-records.jsonl:7",
      ...(hasPolars ? ["data/j-good.parquet", "data/j-good.parquet"] : []),
    ]);
    expect(documents.find((d) => d.duplicateOf !== undefined)?.duplicateOf).toBe(kept[0]?.documentId);
    await verifyDocumentTokens(out, dir, { text: "text" }, await loadTokenizer());

    const [report] = JSON.parse(r.stdout) as { rejects: { total: number; byReason: Record<string, number> }; details: { documents: { duplicates: number } } }[];
    expect(report?.rejects.total).toBe(expected.length);
    expect(report?.rejects.byReason["invalid UTF-8"]).toBe(2);
    expect(report?.details.documents.duplicates).toBe(1);
  }, 120_000);

  it("quarantines a document whose text the tokenizer turns into BOS/EOS ids", async () => {
    // The bundled tokenizer encodes a literal "</s>" as text; a tokenizer.json that declares <s> and
    // </s> as added tokens (as many Hugging Face exports do) matches them inside text.
    const dir = await mkdtemp(join(tmpdir(), "books-special-"));
    const bundled = JSON.parse(await readFile(LLAMA2_TOKENIZER_JSON, "utf8")) as { added_tokens: unknown[] };
    bundled.added_tokens = [
      { id: 1, content: "<s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: "</s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ];
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(bundled));
    await writeFile(
      join(dir, "a.jsonl"),
      [JSON.stringify({ text: prose(21, 100) }), JSON.stringify({ text: `He wrote </s> in the margin. ${prose(22, 50)}` })].join("\n"),
    );
    const recipePath = await writeRecipe(dir, recipeOf({ tokenizer: "tokenizer.json", sources: [{ kind: "books", name: "j", paths: ["a.jsonl"] }] }));
    const r = await lwm(["run", "--steps", "books", recipePath, "--out", join(dir, "out")]);
    expect(r.code, r.stderr).toBe(0);
    const rejects = await readRejects(join(dir, "out"));
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ source: "a.jsonl", position: { line: 1 } });
    expect(rejects[0]?.reason).toMatch(/^special token in text: the text spells BOS\/EOS \("<s>" or "<\/s>"\), token 3 would be id 2$/);
    expect((await readDocuments(join(dir, "out"))).map((d) => (d.provenance.kind === "jsonl" ? d.provenance.line : -1))).toEqual([0]);
  }, 60_000);
});
