import { describe, expect, it } from "vitest";
import { charOffsetsOfBytes, chunkDocument } from "./chunks.js";
import { sentenceEnds } from "./text.js";
import { gutenbergBody, sharedBook } from "./test-helpers/books.js";
import { tokenizedDocument } from "./test-helpers/tokenized.js";

describe("sentenceEnds", () => {
  it("ends sentences at . ! ? … with closing quotes, not at abbreviations or initials", () => {
    const text = "Mr. Darcy bowed. “Is it so?” she asked! J. R. Smith left… Then 3.5 miles later, the end.\n\nNext para";
    const ends = sentenceEnds(text).map((e) => text.slice(0, e).slice(-8));
    expect(ends).toEqual(["y bowed.", "e asked!", "th left…", "the end.", "ext para"]);
  });
});

describe("chunkDocument", () => {
  it("cuts real prose at sentence ends into chunks of about chunkTokens that tile the document", async () => {
    const book = sharedBook("pg1342_pride_and_prejudice_en.txt");
    if (book === null) {
      console.log("skipped: ../shared/data/books is not in this checkout");
      return;
    }
    const text = gutenbergBody(book).slice(0, 60_000);
    const doc = await tokenizedDocument("d1", text);
    const chunks = chunkDocument(doc, 1000);
    expect(chunks.length).toBeGreaterThan(5);
    let next = 0;
    let byte = Buffer.byteLength(text.slice(0, doc.tokenStarts[0]), "utf8");
    for (const c of chunks) {
      expect(c.tokens.start).toBe(next);
      next = c.tokens.end;
      expect(c.bytes.start).toBe(byte);
      byte = c.bytes.end;
      expect(Buffer.from(text, "utf8").subarray(c.bytes.start, c.bytes.end).toString("utf8")).toBe(c.text);
      const n = c.tokens.end - c.tokens.start;
      if (c !== chunks[chunks.length - 1]) {
        expect(n).toBeGreaterThanOrEqual(500);
        expect(n).toBeLessThanOrEqual(1500);
        expect(c.cut).toBe("sentence");
        // a sentence end, or a paragraph end (the blank line starts the next chunk)
        expect(/[.!?…]["'”’»)\]_*]*$/.test(c.text.trimEnd()) || text.slice(c.chars.end).startsWith("\n")).toBe(true);
      }
    }
    expect(next).toBe(doc.tokenStarts.length);
    // ids are content-derived and stable
    expect(chunkDocument(doc, 1000).map((c) => c.id)).toEqual(chunks.map((c) => c.id));
  });

  it("cuts hard at chunkTokens when no sentence end is near, and joins a tiny last chunk to the one before", async () => {
    const text = `${"word ".repeat(300)}end. tail`;
    const doc = await tokenizedDocument("d2", text);
    const chunks = chunkDocument(doc, 100);
    expect(chunks[0]?.cut).toBe("hard");
    expect(chunks[0]?.tokens).toEqual({ start: 0, end: 100 });
    const last = chunks[chunks.length - 1]!;
    expect(last.tokens.end).toBe(doc.tokenStarts.length);
    expect(last.tokens.end - last.tokens.start).toBeGreaterThanOrEqual(25);
  });

  it("converts UTF-8 byte offsets to UTF-16 indices", () => {
    const text = "aé😀b";
    expect(Array.from(charOffsetsOfBytes(text, [0, 1, 3, 7]))).toEqual([0, 1, 2, 4]);
  });
});
