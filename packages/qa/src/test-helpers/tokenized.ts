import { Tokenizer as NativeTokenizer } from "tokenizers";
import { LLAMA2_TOKENIZER_JSON } from "@lwm/tokenizer";
import type { TokenizedDocument } from "../chunks.js";

let native: NativeTokenizer | undefined;

/**
 * A document tokenized with the bundled Llama-2 tokenizer, with each token's start as a UTF-16
 * index (HF tokenizers' Node binding reports code-point offsets). Stands in for the books step's
 * published documents in tests of chunking alone.
 */
export async function tokenizedDocument(documentId: string, text: string): Promise<TokenizedDocument & { ids: Uint32Array }> {
  native ??= NativeTokenizer.fromFile(LLAMA2_TOKENIZER_JSON);
  const encoding = await native.encode(text, null, { addSpecialTokens: false });
  // code point index → UTF-16 index
  const utf16 = new Uint32Array([...text].length + 1);
  let at = 0;
  let cp = 0;
  for (const ch of text) {
    utf16[cp++] = at;
    at += ch.length;
  }
  utf16[cp] = at;
  const tokenStarts = Uint32Array.from(encoding.getOffsets().map((offset) => utf16[offset[0] as number] as number));
  return { documentId, text, tokenStarts, ids: Uint32Array.from(encoding.getIds()) };
}
