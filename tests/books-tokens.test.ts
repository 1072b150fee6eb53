/**
 * The books step end to end through `lwm run`, on every book in ../shared/data/books and on
 * generated fixtures: token ids equal tokenizing each re-cleaned provenance slice in one call,
 * Gutenberg framing is gone, windows respect each stage's length band and seqLen.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recleanFromProvenance } from "@lwm/books";
import { readExamplesIndex } from "@lwm/shards";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { beforeAll, describe, expect, it } from "vitest";
import {
  collectExamples,
  documentsFromExamples,
  hasSharedBooks,
  provenanceKey,
  readDocuments,
  readRejects,
  recipeOf,
  sharedBooks,
  writeRecipe,
  writeTxtFixtures,
} from "./books-helpers.js";
import { lwm } from "./cli.js";

if (!hasSharedBooks) console.warn("skipped: ../shared/data not found (real-book cases)");

const BOILERPLATE = [
  /\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG/i,
  /\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG/i,
  /FULL PROJECT GUTENBERG LICENSE/i,
  /gutenberg\.org\/license/i,
  /Section 1\. General Terms of Use/i,
  /^Title: /m,
];

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer();
});

/** Runs the step on `paths` and checks every document against a direct one-call tokenization. */
async function checkCorpus(paths: string[], expectedDocuments: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "books-tokens-"));
  const recipe = recipeOf({ sources: [{ kind: "books", name: "books", paths }] });
  const recipePath = await writeRecipe(dir, recipe);
  const out = join(dir, "out");
  const r = await lwm(["run", "--steps", "books", recipePath, "--out", out, "--threads", "2"]);
  expect(r.stderr).not.toMatch(/ERROR/);
  expect(r.code).toBe(0);

  const documents = await readDocuments(out);
  expect(documents).toHaveLength(expectedDocuments);
  expect(await readRejects(out)).toEqual([]);
  const full = documentsFromExamples(await collectExamples(out, "full"), tokenizer.bosId, tokenizer.eosId);
  const band = documentsFromExamples(await collectExamples(out, "band"), tokenizer.bosId, tokenizer.eosId);
  for (const doc of documents) {
    const text = await recleanFromProvenance(doc.provenance as Parameters<typeof recleanFromProvenance>[0], {
      baseDir: dir,
      fields: { text: "text" },
      clean: { stripGutenberg: true, minChars: 1 },
    });
    for (const re of BOILERPLATE) expect(text, `${doc.provenance.kind} ${re}`).not.toMatch(re);
    expect(text).not.toMatch(/\r|\uFEFF/);
    expect(text.normalize("NFC")).toBe(text);
    expect(text.length).toBe(doc.chars);
    const direct = await tokenizer.encode(text);
    expect(direct.length).toBe(doc.tokens);
    const fromWindows = full.get(provenanceKey(doc.provenance));
    expect(fromWindows?.closed).toBe(true);
    // Ids, not counts: a seam or cleaning difference anywhere would show here.
    expect(Uint32Array.from(fromWindows?.tokens ?? [])).toEqual(direct);
    const inBand = doc.tokens >= 9000 && doc.tokens <= 300_000;
    expect(band.has(provenanceKey(doc.provenance))).toBe(inBand);
    if (inBand) expect(band.get(provenanceKey(doc.provenance))?.tokens).toEqual(fromWindows?.tokens);
  }
  const index = await readExamplesIndex(join(out, "work/books/examples/band"));
  expect(index.seqLen).toBe(1024);
  for (const e of await collectExamples(out, "band")) expect(e.tokens.length).toBeLessThanOrEqual(1024);
  const report = JSON.parse(await readFile(join(out, "work/books/report.json"), "utf8")) as { details: { stages: Record<string, { documents: number }> } };
  expect(report.details.stages.band?.documents).toBe(documents.filter((d) => d.tokens >= 9000 && d.tokens <= 300_000).length);
}

describe("books step: tokens", () => {
  it("generated fixtures (PG framing, CRLF, BOM, NFD, no header): ids equal one-call tokenization of each re-cleaned slice", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-fixtures-"));
    await writeTxtFixtures(join(dir, "books"), 6, 4000);
    await checkCorpus([join(dir, "books")], 6);
  }, 120_000);

  it.skipIf(!hasSharedBooks)(
    "every book in ../shared/data/books: ids equal one-call tokenization, PG boilerplate gone",
    async () => {
      await checkCorpus([sharedBooks], 8);
    },
    180_000,
  );

  it.skipIf(!hasSharedBooks)(
    "keeps PG titles and languages and the German book without a header",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "books-meta-"));
      const recipePath = await writeRecipe(
        dir,
        recipeOf({
          sources: [
            {
              kind: "books",
              name: "pg",
              paths: [join(sharedBooks, "pg22367_die_verwandlung_de.txt"), join(sharedBooks, "pg4650_candide_fr.txt")],
              language: "de",
            },
          ],
        }),
      );
      expect((await lwm(["run", "--steps", "books", recipePath, "--out", join(dir, "out")])).code).toBe(0);
      const [kafka, candide] = await readDocuments(join(dir, "out"));
      expect(kafka?.language).toBe("de");
      expect(candide).toMatchObject({ title: "Candide", language: "fr" });
      const text = await recleanFromProvenance(kafka?.provenance as Parameters<typeof recleanFromProvenance>[0], {
        baseDir: dir,
        fields: { text: "text" },
        clean: { stripGutenberg: true, minChars: 1 },
      });
      expect(text.startsWith("                         DIE VERWANDLUNG")).toBe(true);
      expect(text.endsWith("ihren jungen Körper dehnte.")).toBe(true);
    },
    120_000,
  );
});
