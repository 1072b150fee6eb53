import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LLAMA2_TOKENIZER_JSON, loadTokenizer, type Tokenizer } from "./index.js";
import { encodeReference } from "./reference.js";

/** Inputs where a Llama-2 port typically goes wrong (deps.md §6), each checked against the reference. */
const FIXTURES: Record<string, string> = {
  crlf: "first line\r\nsecond line\r\n\r\nthird\r\n",
  nfd: "Cafe\u0301 cre\u0300me bru\u0302le\u0301e, n\u0303",
  nfc: "Café crème brûlée, ñ",
  emoji: "launch 🚀 done ✅ family 👨‍👩‍👧 flag 🇫🇷",
  bosEosInText: "a <s> b </s> c<s></s>",
  bosAlone: "<s>",
  eosAlone: "</s>",
  leadingSpaces: "   three spaces before",
  trailingSpaces: "two spaces after  ",
  onlySpaces: "    ",
  tabs: "\tindented\t\ttwice\t",
  digits: "3.14159 2026-11-26 1,000,000 0x1F",
  newlines: "\n\nstarts with blank lines\n",
  cjk: "大規模言語モデル 世界",
  german: "Größenmaßstäbe für Übergänge",
  controlChars: "bell\u0007 nul\u0000 del\u007f",
};

describe("Llama-2 tokenizer (HF tokenizers on the derived tokenizer.json)", () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer();
  });

  it("has Llama-2's vocabulary shape and hashes the file it loaded", () => {
    expect(tok.vocabSize).toBe(32000);
    expect(tok.bosId).toBe(1);
    expect(tok.eosId).toBe(2);
    expect(tok.path).toBe(LLAMA2_TOKENIZER_JSON);
    expect(tok.sha256).toBe(createHash("sha256").update(readFileSync(LLAMA2_TOKENIZER_JSON)).digest("hex"));
    expect([0, 1, 2, 15043].map((id) => tok.pieceOf(id))).toEqual(["<unk>", "<s>", "</s>", "▁Hello"]);
    expect(tok.idOf("▁world")).toBe(3186);
    expect(tok.idOf("no such piece")).toBeUndefined();
  });

  it('encodes "Hello world" as Llama-2 does, without BOS/EOS', async () => {
    expect(Array.from(await tok.encode("Hello world"))).toEqual([15043, 3186]);
  });

  it('encodes "" to no ids', async () => {
    const ids = await tok.encode("");
    expect(ids).toBeInstanceOf(Uint32Array);
    expect(ids.length).toBe(0);
    expect(await tok.encodeBatch(["", "x", ""])).toEqual([new Uint32Array(), await tok.encode("x"), new Uint32Array()]);
  });

  it.each(Object.entries(FIXTURES))("%s: ids equal llama-tokenizer-js and decode back to the text", async (_name, text) => {
    const ids = await tok.encode(text);
    expect(ids).toEqual(encodeReference(text));
    expect(await tok.decode(ids)).toBe(text);
  });

  it("encodes <s> and </s> inside text as plain text, like SentencePiece", async () => {
    const ids = await tok.encode(FIXTURES.bosEosInText ?? "");
    expect(ids).not.toContain(tok.bosId);
    expect(ids).not.toContain(tok.eosId);
    // SentencePiece: "▁<" "s" ">"  and  "▁</" "s" ">"
    expect(Array.from(await tok.encode("<s>"))).toEqual([529, 29879, 29958]);
    expect(Array.from(await tok.encode("</s>"))).toEqual([1533, 29879, 29958]);
  });

  it("keeps NFD and NFC apart (identity normalisation)", async () => {
    expect(await tok.encode(FIXTURES.nfd ?? "")).not.toEqual(await tok.encode(FIXTURES.nfc ?? ""));
  });

  it("encodeBatch gives the same ids as encode, in order", async () => {
    const texts = Object.values(FIXTURES);
    const batch = await tok.encodeBatch(texts);
    expect(batch).toEqual(await Promise.all(texts.map((text) => tok.encode(text))));
  });

  it("does not render BOS/EOS when decoding, and rejects ids outside the vocabulary", async () => {
    expect(await tok.decode([1, 15043, 3186, 2])).toBe("Hello world");
    expect(await tok.decode(new Uint16Array([15043]))).toBe("Hello");
    await expect(tok.decode([15043, 32000])).rejects.toThrow(/token id 32000 is outside the vocabulary \[0, 32000\)/);
    expect(() => tok.pieceOf(-1)).toThrow(/outside the vocabulary/);
  });

  it("refuses text with a lone surrogate instead of encoding a replacement character", async () => {
    await expect(tok.encode("a\uD800b")).rejects.toThrow("encode: lone UTF-16 surrogate at index 1");
    await expect(tok.encodeBatch(["ok", "x\uDC00"])).rejects.toThrow("encodeBatch text 1: lone UTF-16 surrogate at index 1");
    expect(Array.from(await tok.encode("😀"))).toEqual(Array.from(encodeReference("😀")));
  });

  it("gives each separately encoded field its own dummy prefix", async () => {
    const separate = [...(await tok.encode("Hello")), ...(await tok.encode("world"))];
    expect(separate).toEqual([15043, 3186]);
    expect(await tok.decode(separate)).toBe("Hello world");
    const glued = Array.from(await tok.encode("Helloworld"));
    expect(glued).not.toEqual(separate);
  });
});
