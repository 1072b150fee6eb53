import { describe, expect, it } from "vitest";
import { loadTokenizer } from "./index.js";
import { encodeReference } from "./reference.js";
import { hasSharedBooks, paragraphChunks, readSharedBooks } from "./test-helpers/corpus.js";

if (!hasSharedBooks) console.warn("skipped: ../shared/data not found");

describe("HF tokenizers equals llama-tokenizer-js on real books", () => {
  it.skipIf(!hasSharedBooks)(
    "every id of every book, BOMs, French and German included",
    async () => {
      const tok = await loadTokenizer();
      const books = readSharedBooks();
      expect(books.length).toBeGreaterThanOrEqual(8);
      let totalIds = 0;
      for (const book of books) {
        const chunks = paragraphChunks(book.text);
        expect(chunks.join("")).toBe(book.text);
        const production = await tok.encodeBatch(chunks);
        chunks.forEach((chunk, i) => {
          const ids = production[i];
          const reference = encodeReference(chunk);
          if (ids === undefined || !ids.every((id, j) => id === reference[j]) || ids.length !== reference.length) {
            expect.fail(`${book.name} chunk ${i} ${JSON.stringify(chunk.slice(0, 80))}: ids differ`);
          }
          totalIds += reference.length;
        });
      }
      const withBom = books.filter((book) => book.text.startsWith("\uFEFF"));
      expect(withBom.length).toBeGreaterThan(0);
      expect(totalIds).toBeGreaterThan(1_000_000);
    },
    120_000,
  );
});
