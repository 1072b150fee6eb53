import { readFile, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LLAMA2_TOKENIZER_JSON, loadTokenizer, safeCuts, type EncodedText, type Tokenizer } from "./index.js";
import { hasSharedBooks, readSharedBooks } from "./test-helpers/corpus.js";

if (!hasSharedBooks) console.warn("skipped: ../shared/data not found; long-document identity runs on generated text only");

/** Text built from fragments where a cut is most likely to go wrong: runs of spaces, "▁", newlines, byte fallback. */
function trickyText(seed: number, fragments: number): string {
  const parts = [
    "the",
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n",
    " \n",
    "\n ",
    "\n  x",
    "▁",
    "▁▁",
    " ▁",
    "ab▁cd",
    "é",
    "e\u0301",
    "😀",
    "\t",
    "<s>",
    "</s>",
    "0",
    "12",
    "\r\n",
    "\u00a0",
    "Mr.",
    "大規模",
    "\u0007",
    "word",
    "Word",
    "...",
    "—",
    "ﬁ",
  ];
  let state = seed >>> 0 || 1;
  let out = "";
  for (let i = 0; i < fragments; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out += parts[state % parts.length];
  }
  return out;
}

function same(a: Uint32Array | Int32Array, b: Uint32Array | Int32Array): boolean {
  return a.length === b.length && a.every((x: number, i: number) => x === b[i]);
}

describe("encodeDocuments: long documents in pieces", () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer();
  });

  it("proves both cut kinds safe for the bundled Llama-2 tokenizer", () => {
    expect(tok.cutRules).toEqual({ newline: true, space: true, spaceChars: " ▁" });
  });

  it("gives the ids and byte offsets of whole-text tokenization on generated text, for every piece size", async () => {
    const texts = Array.from({ length: 40 }, (_, seed) => trickyText(seed + 1, 50 + seed * 40));
    const whole = await tok.encodeBatchWithOffsets(texts);
    for (const pieceChars of [1, 3, 8, 33, 257]) {
      const pieced = await tok.encodeDocuments(texts, { pieceChars });
      pieced.forEach((r, i) => {
        if (!r.ok) expect.fail(`text ${i}: ${r.reason}`);
        const w = whole[i] as EncodedText;
        if (!same(r.ids, w.ids)) expect.fail(`text ${i} (pieceChars ${pieceChars}) ${JSON.stringify(texts[i])}: ids differ`);
        if (!same(r.starts, w.starts) || !same(r.ends, w.ends)) expect.fail(`text ${i} (pieceChars ${pieceChars}): byte offsets differ`);
      });
    }
    // The small piece sizes really cut: a 2,000-char text has many safe cuts.
    expect(safeCuts(texts[39] as string, tok.cutRules, 33).length).toBeGreaterThan(20);
  });

  it.skipIf(!hasSharedBooks)(
    "gives the ids of whole-text tokenization on every real book",
    async () => {
      const books = readSharedBooks();
      for (const book of books) {
        const whole = await tok.encode(book.text);
        const [pieced] = await tok.encodeDocuments([book.text], { pieceChars: 4096 });
        if (!pieced?.ok) expect.fail(`${book.name}: ${pieced?.reason}`);
        expect(safeCuts(book.text, tok.cutRules, 4096).length).toBeGreaterThan(book.text.length / 8192);
        if (!same(pieced.ids, whole)) expect.fail(`${book.name}: pieced ids differ from whole-text ids`);
      }
    },
    300_000,
  );

  it("cuts a single line with no newline at spaces, in pieces of bounded length", async () => {
    const line = trickyText(7, 20_000).replace(/[\n\r]/g, "x");
    const cuts = safeCuts(line, tok.cutRules, 1000);
    const bounds = [0, ...cuts, line.length];
    for (let i = 1; i < bounds.length; i += 1) expect((bounds[i] as number) - (bounds[i - 1] as number)).toBeLessThanOrEqual(1000);
    expect(cuts.length).toBeGreaterThanOrEqual(Math.ceil(line.length / 1000) - 1);
    const [pieced] = await tok.encodeDocuments([line], { pieceChars: 1000 });
    expect(pieced?.ok && same(pieced.ids, await tok.encode(line))).toBe(true);
  });

  it("a document that cannot be tokenized gets its reason; the others in the batch keep their ids", async () => {
    const good = ["first good one", "second\ngood one"];
    const results = await tok.encodeDocuments([good[0] as string, "bad \ud800 here", good[1] as string]);
    expect(results[1]).toEqual({ ok: false, reason: "lone UTF-16 surrogate at index 4; the text is not valid Unicode" });
    expect(results[0]?.ok && same(results[0].ids, await tok.encode(good[0] as string))).toBe(true);
    expect(results[2]?.ok && same(results[2].ids, await tok.encode(good[1] as string))).toBe(true);
  });

  it("a tokenizer the proof does not cover gets no cuts and still gives whole-text ids", async () => {
    const json = JSON.parse(await readFile(LLAMA2_TOKENIZER_JSON, "utf8")) as Record<string, unknown>;
    json.normalizer = {
      type: "Sequence",
      normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }, { type: "NFKC" }],
    };
    const dir = await mkdtemp(join(tmpdir(), "tok-nocut-"));
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(json));
    const other = await loadTokenizer(join(dir, "tokenizer.json"));
    expect(other.cutRules).toEqual({ newline: false, space: false, spaceChars: "" });
    const text = trickyText(3, 500);
    const [r] = await other.encodeDocuments([text], { pieceChars: 10 });
    expect(r?.ok && same(r.ids, await other.encode(text))).toBe(true);
  });
});
