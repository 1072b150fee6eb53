import { describe, expect, it } from "vitest";
import { cleanText } from "./clean.js";
import { findGutenbergFrame } from "./gutenberg.js";

const opts = { stripGutenberg: true, minChars: 1 };

function pgBook(body: string, { start = true, endIndent = "" } = {}): string {
  return [
    "The Project Gutenberg eBook of A Test Book",
    "",
    "This eBook is for the use of anyone anywhere in the United States.",
    "",
    "Title: A Test Book",
    "",
    "Author: Nobody",
    "",
    "Language: French",
    "",
    ...(start ? ["*** START OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***", "", "Produced by Someone Kind", ""] : []),
    body,
    "",
    `${endIndent}*** END OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***`,
    "",
    "Section 1. General Terms of Use and Redistributing Project Gutenberg™ electronic works",
    "THE FULL PROJECT GUTENBERG LICENSE",
  ].join("\n");
}

describe("cleanText", () => {
  it("keeps only the body of a Gutenberg book, with its title and language", () => {
    const r = cleanText(pgBook("CHAPTER I\n\nIt was a dark night."), opts);
    expect(r).toMatchObject({ ok: true, text: "CHAPTER I\n\nIt was a dark night.", title: "A Test Book", language: "fr" });
  });

  it("finds an indented END marker", () => {
    const r = cleanText(pgBook("Body text.", { endIndent: "            " }), opts);
    expect(r.ok && r.text).toBe("Body text.");
  });

  it("without a START marker, cuts the PG metadata block and keeps the rest", () => {
    const r = cleanText(pgBook("Body without a start marker.", { start: false }), opts);
    expect(r.ok && r.text).toBe("Body without a start marker.");
  });

  it("a book with no header at all keeps its beginning and loses its footer", () => {
    const text = "   DIE VERWANDLUNG\n\nAls Gregor Samsa eines Morgens erwachte.\n\n*** END OF THE PROJECT GUTENBERG EBOOK DIE VERWANDLUNG ***\nlicence";
    const r = cleanText(text, opts);
    expect(r.ok && r.text).toBe("   DIE VERWANDLUNG\n\nAls Gregor Samsa eines Morgens erwachte.");
    expect(findGutenbergFrame(text).found).toEqual({ start: false, end: true, header: false });
  });

  it("cuts the older 'End of the Project Gutenberg EBook' line before the END marker", () => {
    const text =
      "*** START OF THIS PROJECT GUTENBERG EBOOK X ***\nStory.\n\nEnd of the Project Gutenberg EBook of X, by Y\n\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\n";
    expect(cleanText(text, opts)).toMatchObject({ ok: true, text: "Story." });
  });

  it("normalises CRLF and CR newlines, NFD to NFC, and drops the BOM", () => {
    const nfd = "Cafe\u0301 Zu\u0308rich";
    const r = cleanText(`\uFEFF\r\n${nfd}\r\nline two\rline three\r\n`, opts);
    expect(r.ok && r.text).toBe("Café Zürich\nline two\nline three");
    expect(r.ok && r.text.normalize("NFC")).toBe(r.ok && r.text);
    expect(r.ok && [r.start, r.end]).toEqual([1, `\uFEFF\r\n${nfd}\r\nline two\rline three\r\n`.length]);
  });

  it("leaves text alone when Gutenberg stripping is off", () => {
    const book = pgBook("Body.");
    const r = cleanText(book, { stripGutenberg: false, minChars: 1 });
    expect(r.ok && r.text).toContain("*** START OF THE PROJECT GUTENBERG EBOOK");
  });

  it("rejects empty, binary and too-short documents with a reason", () => {
    expect(cleanText("", opts)).toEqual({ ok: false, reason: "empty document" });
    expect(cleanText("\uFEFF \n\t\n", opts)).toEqual({ ok: false, reason: "empty after cleaning" });
    expect(cleanText("abc\u0000def", opts)).toEqual({ ok: false, reason: "binary content: NUL character at char 3" });
    const controls = "x".repeat(100) + "\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000e\u000f";
    expect(cleanText(controls, opts)).toMatchObject({ ok: false, reason: expect.stringMatching(/^binary content: 10 control characters/) });
    expect(cleanText("tiny", { stripGutenberg: true, minChars: 10 })).toEqual({ ok: false, reason: "too short after cleaning: 4 chars < minChars 10" });
  });

  it("is idempotent on its own output region (re-cleaning the kept part gives the same text)", () => {
    const raw = "\uFEFF" + pgBook("Line one\r\nline two\r\n\r\nCafe\u0301.");
    const r = cleanText(raw, opts);
    if (!r.ok) throw new Error(r.reason);
    const again = cleanText(raw.slice(r.start, r.end), opts);
    expect(again.ok && again.text).toBe(r.text);
  });
});

describe("a Gutenberg file with no body", () => {
  it("is rejected, not kept with its licence", () => {
    const text = pgBook("").replace("Produced by Someone Kind\n\n", "");
    expect(cleanText(text, opts)).toEqual({ ok: false, reason: "no body between the Gutenberg markers" });
    // With the producer credits between the markers, there is still no body.
    expect(cleanText(pgBook(""), opts)).toEqual({ ok: false, reason: "no body between the Gutenberg markers" });
  });
});
