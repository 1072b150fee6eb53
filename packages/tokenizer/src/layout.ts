import { LLAMA2_LWM_VOCAB, tokenDtypeFor, VocabLayout, type TokenDtype } from "@lwm/schemas";
import type { Tokenizer } from "./tokenizer.js";

export interface MultimodalLayout {
  layout: VocabLayout;
  /** uint16 while every id of both tables fits, uint32 otherwise. */
  tokenDtype: TokenDtype;
}

/**
 * The text table is the tokenizer's; the vision table is LWM's (8192 VQGAN codes, <eof>=8192,
 * <eov>=8193, 8448 entries) whatever the text vocabulary. Padding keeps LLAMA2_LWM_VOCAB's id 0,
 * which every text table has.
 */
export function multimodalLayout(tokenizer: Tokenizer): MultimodalLayout {
  const layout = VocabLayout.parse({
    ...LLAMA2_LWM_VOCAB,
    textVocabSize: tokenizer.vocabSize,
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
  });
  return { layout, tokenDtype: tokenDtypeFor(layout) };
}
