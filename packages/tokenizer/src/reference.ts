import llamaTokenizer from "llama-tokenizer-js";

/**
 * The pure-JS Llama-2 tokenizer (llama-tokenizer-js), the reference the production path is proven
 * equal to. Slow (≈ 26–100 ktok/s): tests and benchmarks only.
 */

/** Llama-2 ids of `text` with the SentencePiece dummy prefix and no BOS/EOS; "" gives no ids. */
export function encodeReference(text: string): Uint32Array {
  return Uint32Array.from(llamaTokenizer.encode(text, false, true));
}

/** The text of Llama-2 ids without BOS/EOS, dropping the dummy-prefix space. */
export function decodeReference(ids: ArrayLike<number>): string {
  return llamaTokenizer.decode(Array.from(ids), false, true);
}
