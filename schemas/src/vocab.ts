import { z } from "zod";

/**
 * The multimodal vocabulary layout (lwm-spec §1–2). Text ids index the text table, vision ids the
 * vision table; a per-token vision flag says which table a token belongs to.
 */
export const VocabLayout = z.object({
  textVocabSize: z.number().int().positive(),
  visionVocabSize: z.number().int().nonnegative(),
  /** VQGAN codes are 0..visionCodes-1 in the vision table. */
  visionCodes: z.number().int().nonnegative(),
  /** End of frame, in the vision table. */
  eofId: z.number().int().nonnegative(),
  /** End of vision (last frame of an image or video), in the vision table. */
  eovId: z.number().int().nonnegative(),
  bosId: z.number().int().nonnegative(),
  eosId: z.number().int().nonnegative(),
  /** Token id written into tail padding (text table, loss false, vision false). */
  padId: z.number().int().nonnegative(),
  /** Codes per frame (16×16 = 256 for the aMUSEd VQGAN). */
  tokensPerFrame: z.number().int().positive(),
});
export type VocabLayout = z.infer<typeof VocabLayout>;

/** Llama-2 text table + LWM's 8448-entry vision table. */
export const LLAMA2_LWM_VOCAB: VocabLayout = {
  textVocabSize: 32000,
  visionVocabSize: 8448,
  visionCodes: 8192,
  eofId: 8192,
  eovId: 8193,
  bosId: 1,
  eosId: 2,
  padId: 0,
  tokensPerFrame: 256,
};

export const TokenDtype = z.enum(["uint16", "uint32"]);
export type TokenDtype = z.infer<typeof TokenDtype>;

/** uint16 while every id of both tables fits, uint32 otherwise. */
export function tokenDtypeFor(layout: VocabLayout): TokenDtype {
  return Math.max(layout.textVocabSize, layout.visionVocabSize) <= 0x10000 ? "uint16" : "uint32";
}
