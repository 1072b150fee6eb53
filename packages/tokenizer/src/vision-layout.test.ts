import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLAMA2_LWM_VOCAB } from "@lwm/schemas";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, multimodalLayout, visionTagPieces, type Tokenizer } from "./index.js";
import { encodeReference } from "./reference.js";

const dir = mkdtempSync(join(tmpdir(), "lwm-tokenizer-"));

/** A Hugging Face tokenizer.json with a word-level model over `words` (ids in order). */
function writeWordLevelTokenizer(name: string, words: readonly string[]): string {
  const vocab: Record<string, number> = {};
  words.forEach((word, id) => (vocab[word] = id));
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: "<unk>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { Regex: "</?|>|\\s+" }, behavior: "Isolated", invert: false },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "<unk>" },
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe("vision tags and layout follow the tokenizer", () => {
  let llama: Tokenizer;
  beforeAll(async () => {
    llama = await loadTokenizer();
  });

  it("computes Llama-2's <vision> pieces with the tokenizer (same as the reference)", async () => {
    const tags = await visionTagPieces(llama);
    expect(tags.open).toEqual(encodeReference("<vision>"));
    expect(tags.close).toEqual(encodeReference("</vision>"));
    expect(await llama.decode(tags.open)).toBe("<vision>");
    expect(await llama.decode(tags.close)).toBe("</vision>");
  });

  it("gives Llama-2 + LWM's vision table, stored as uint16", () => {
    const { layout, tokenDtype } = multimodalLayout(llama);
    expect(layout).toEqual(LLAMA2_LWM_VOCAB);
    expect(tokenDtype).toBe("uint16");
  });

  it("a different tokenizer.json gives different tag pieces, vocabulary size and layout", async () => {
    const words = ["<unk>", "<s>", "</s>", "<", "</", ">", "vision", "hello", "world"];
    const tiny = await loadTokenizer(writeWordLevelTokenizer("tiny.json", words));
    expect(tiny.vocabSize).toBe(words.length);
    const tags = await visionTagPieces(tiny);
    expect(Array.from(tags.open)).toEqual([3, 6, 5]);
    expect(Array.from(tags.close)).toEqual([4, 6, 5]);
    expect(tags.open).not.toEqual((await visionTagPieces(llama)).open);
    const { layout, tokenDtype } = multimodalLayout(tiny);
    expect(layout.textVocabSize).toBe(words.length);
    expect(layout.visionVocabSize).toBe(8448);
    expect([layout.eofId, layout.eovId]).toEqual([8192, 8193]);
    expect(tokenDtype).toBe("uint16");
  });

  it("takes BOS/EOS from the pieces the caller names", async () => {
    const file = writeWordLevelTokenizer("bos-eos.json", ["[UNK]", "[PAD]", "[BOS]", "[EOS]", "<unk>"]);
    const tok = await loadTokenizer(file, { bosToken: "[BOS]", eosToken: "[EOS]" });
    expect([tok.bosId, tok.eosId]).toEqual([2, 3]);
    expect(multimodalLayout(tok).layout).toMatchObject({ bosId: 2, eosId: 3 });
  });

  it("a vocabulary past 65536 ids needs uint32 tokens", async () => {
    const words = ["<unk>", "<s>", "</s>", ...Array.from({ length: 70000 }, (_, i) => `w${i}`)];
    const big = await loadTokenizer(writeWordLevelTokenizer("big.json", words));
    expect(big.vocabSize).toBe(70003);
    expect(Array.from(await big.encode("w69999"))).toEqual([70002]);
    expect(multimodalLayout(big).tokenDtype).toBe("uint32");
  });
});
