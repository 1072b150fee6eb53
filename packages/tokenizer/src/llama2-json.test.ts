import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import llamaTokenizer from "llama-tokenizer-js";
import { describe, expect, it } from "vitest";
import { LLAMA2_TOKENIZER_JSON } from "./assets.js";
import { deriveLlama2TokenizerJson, type Llama2Source } from "./llama2-json.js";

const real: Llama2Source = llamaTokenizer;

describe("deriveLlama2TokenizerJson", () => {
  it("is reproducible byte for byte, and the built asset is current", () => {
    const first = JSON.stringify(deriveLlama2TokenizerJson());
    expect(JSON.stringify(deriveLlama2TokenizerJson())).toBe(first);
    const sha256 = (bytes: string | Buffer): string => createHash("sha256").update(bytes).digest("hex");
    expect(sha256(readFileSync(LLAMA2_TOKENIZER_JSON)), "stale asset: npm run build -w @lwm/tokenizer").toBe(sha256(first));
  });

  it("keeps BOS/EOS out of encode: no added tokens, no post-processor", () => {
    const json = deriveLlama2TokenizerJson() as { added_tokens: unknown[]; post_processor: unknown; model: { merges: unknown[] } };
    expect(json.added_tokens).toEqual([]);
    expect(json.post_processor).toBeNull();
    expect(json.model.merges.length).toBe(real.merges.size);
  });

  it("refuses a source whose vocabulary is not Llama-2's", () => {
    expect(() => deriveLlama2TokenizerJson({ ...real, vocabById: real.vocabById.slice(1) })).toThrow("expected 32000 vocabulary entries, found 31999");
    const swapped = [...real.vocabById];
    [swapped[1], swapped[2]] = [swapped[2] ?? "", swapped[1] ?? ""];
    expect(() => deriveLlama2TokenizerJson({ ...real, vocabById: swapped })).toThrow('expected piece "<s>" at id 1');
  });

  it("refuses merges that are out of order or name unknown pieces", () => {
    const entries = [...real.merges];
    const [firstKey, firstPriority] = entries[0] ?? ["", 0];
    const unknownPiece = new Map([["no-such-piece ▁t", firstPriority], ...entries.slice(1)]);
    expect(() => deriveLlama2TokenizerJson({ ...real, merges: unknownPiece })).toThrow(
      'merge 0 "no-such-piece ▁t" uses "no-such-piece", not in the vocabulary',
    );
    const reordered = new Map([...entries.slice(1, 2), [firstKey, firstPriority], ...entries.slice(2)]);
    expect(() => deriveLlama2TokenizerJson({ ...real, merges: reordered })).toThrow(/merge 0 has priority 3, expected 1/);
  });
});
