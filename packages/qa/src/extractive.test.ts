import { describe, expect, it } from "vitest";
import { chunkDocument } from "./chunks.js";
import { judgeGeneration } from "./chunk-qa.js";
import { ExtractiveGenerator } from "./extractive.js";
import { SHARED_BOOKS, gutenbergBody, sharedBook } from "./test-helpers/books.js";
import { tokenizedDocument } from "./test-helpers/tokenized.js";

const BOOKS = ["pg11_alices_adventures_in_wonderland_en.txt", "pg2701_moby_dick_en.txt", "pg22367_die_verwandlung_de.txt", "pg4650_candide_fr.txt"];

describe("ExtractiveGenerator", () => {
  it("writes grounded cloze pairs on the prose of real books (English, German, French), deterministically", async () => {
    const generator = new ExtractiveGenerator();
    const texts = BOOKS.map((b) => sharedBook(b));
    if (texts.some((t) => t === null)) {
      console.log(`skipped: ${SHARED_BOOKS} is not in this checkout`);
      return;
    }
    for (const [i, book] of texts.entries()) {
      const text = gutenbergBody(book as string).slice(20_000, 50_000);
      const chunks = chunkDocument(await tokenizedDocument(`doc${i}`, text), 1000);
      const seen = new Map<string, string>();
      let asked = 0;
      let accepted = 0;
      for (const chunk of chunks) {
        const generation = await generator.generate(chunk, 2);
        const again = await generator.generate(chunk, 2);
        expect(again).toEqual(generation);
        const judged = judgeGeneration(generator.identity, chunk, 2, generation, seen);
        asked += 2;
        accepted += judged.accepted.length;
        expect(judged.accepted.length + judged.rejected.length).toBe(2);
        for (const qa of judged.accepted) {
          expect(chunk.text).toContain(qa.evidence);
          expect(qa.evidence).toContain(qa.answer);
          expect(qa.question).toContain("___");
        }
      }
      console.log(`${BOOKS[i]}: ${accepted}/${asked} pairs accepted over ${chunks.length} chunks`);
      expect(accepted / asked).toBeGreaterThan(0.9);
    }
  });

  it("rejects every pair with a reason when a chunk has nothing to ask about", async () => {
    const generator = new ExtractiveGenerator();
    const chunk = { id: "c", text: "Oh. Ah. Yes, yes." };
    const judged = judgeGeneration(generator.identity, chunk, 2, await generator.generate(chunk, 2), new Map());
    expect(judged.accepted).toEqual([]);
    expect(judged.rejected.map((r) => r.reason.split(":")[0])).toEqual(["no candidate", "no candidate"]);
  });
});
