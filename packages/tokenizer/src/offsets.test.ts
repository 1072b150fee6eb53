import { beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "./index.js";

describe("encodeBatchWithOffsets", () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer();
  });

  it("gives the ids of encodeBatch and, per token, the UTF-8 bytes of the text it came from", async () => {
    const texts = ["Héllo wörld 你好 🎉 end\n\nNew para", "plain ascii text", ""];
    const [withOffsets, plain] = await Promise.all([tok.encodeBatchWithOffsets(texts), tok.encodeBatch(texts)]);
    expect(withOffsets.map((e) => Array.from(e.ids))).toEqual(plain.map((ids) => Array.from(ids)));

    const text = texts[0]!;
    const bytes = Buffer.from(text, "utf8");
    const e = withOffsets[0]!;
    const sliceOf = (k: number): string => bytes.subarray(e.starts[k], e.ends[k]).toString("utf8");
    const pieces = Array.from(e.ids, (id) => tok.pieceOf(id));
    // "él" is 2 characters but 3 bytes: byte offsets, not character offsets.
    expect(sliceOf(pieces.indexOf("él"))).toBe("él");
    // The 4 byte-fallback pieces of the emoji all point at its 4 bytes.
    const emoji = pieces.flatMap((p, k) => (p.startsWith("<0xF0>") || p === "<0x9F>" || p === "<0x8E>" || p === "<0x89>" ? [k] : []));
    expect(emoji).toHaveLength(4);
    for (const k of emoji) expect(sliceOf(k)).toBe("🎉");
    // Ranges never run backwards and end inside the text; the last token ends at the text's end.
    for (let k = 0; k < e.ids.length; k++) {
      expect(e.ends[k]!).toBeGreaterThanOrEqual(e.starts[k]!);
      if (k > 0) expect(e.starts[k]!).toBeGreaterThanOrEqual(e.starts[k - 1]!);
    }
    expect(e.ends[e.ids.length - 1]).toBe(bytes.byteLength);
    expect(sliceOf(pieces.indexOf("▁para"))).toBe(" para");
  });
});
