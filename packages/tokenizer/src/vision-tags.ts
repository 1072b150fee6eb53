import type { Tokenizer } from "./tokenizer.js";

export const VISION_OPEN_TAG = "<vision>";
export const VISION_CLOSE_TAG = "</vision>";

export interface VisionTagPieces {
  /** The text ids of "<vision>", each encoded alone as LWM does (own dummy prefix, no BOS/EOS). */
  open: Uint32Array;
  /** The text ids of "</vision>". */
  close: Uint32Array;
}

/**
 * LWM's vision tags are plain text, not added tokens (lwm-spec §1.4): their ids are whatever the
 * tokenizer makes of the strings, so they are computed here and never written down.
 */
export async function visionTagPieces(tokenizer: Tokenizer): Promise<VisionTagPieces> {
  const [open, close] = await tokenizer.encodeBatch([VISION_OPEN_TAG, VISION_CLOSE_TAG]);
  if (open === undefined || close === undefined || open.length === 0 || close.length === 0) {
    throw new Error(`${tokenizer.path}: the vision tags encode to no ids`);
  }
  return { open, close };
}
