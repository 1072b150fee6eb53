import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer, TokenizerFileError } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "lwm-tokenizer-errors-"));
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("loadTokenizer rejects bad files with an error naming the file", () => {
  it("missing file", async () => {
    const file = join(dir, "absent", "tokenizer.json");
    const error = await loadTokenizer(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerFileError);
    expect((error as TokenizerFileError).file).toBe(file);
    expect((error as Error).message).toBe(`${file}: tokenizer.json not found`);
  });

  it("a directory instead of a file", async () => {
    await expect(loadTokenizer(dir)).rejects.toThrow(`${dir}: cannot read tokenizer.json (EISDIR)`);
  });

  it("not JSON", async () => {
    const file = write("truncated.json", '{"model": {"type": "BPE", "vocab": {');
    await expect(loadTokenizer(file)).rejects.toThrow(new RegExp(`^${file}: not valid JSON`));
  });

  it("JSON that is not a tokenizer.json names the field", async () => {
    const file = write("config.json", JSON.stringify({ model_type: "llama", added_tokens: [{ id: "one" }] }));
    const error = await loadTokenizer(file).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`^${file}: not a Hugging Face tokenizer.json: `));
    expect((error as Error).message).toMatch(/tokenizer.json: model: Invalid input/);
    expect((error as Error).message).toMatch(/added_tokens\[0\]\.id: /);
  });

  it("a tokenizer.json that HF tokenizers cannot load", async () => {
    const file = write("bad-model.json", JSON.stringify({ model: { type: "NoSuchModel" }, added_tokens: [] }));
    await expect(loadTokenizer(file)).rejects.toThrow(new RegExp(`^${file}: rejected by Hugging Face tokenizers: `));
  });

  it("a vocabulary without the BOS piece", async () => {
    const file = write(
      "no-bos.json",
      JSON.stringify({
        version: "1.0",
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: null,
        post_processor: null,
        decoder: null,
        model: { type: "WordLevel", vocab: { "<unk>": 0, a: 1 }, unk_token: "<unk>" },
      }),
    );
    await expect(loadTokenizer(file)).rejects.toThrow(`${file}: has no bos token "<s>"`);
  });
});
