import { existsSync } from "node:fs";
import { LLAMA2_TOKENIZER_JSON } from "../assets.js";
import { writeLlama2TokenizerJson } from "../build-tokenizer-json.js";

/** vitest globalSetup: `vitest run` on a fresh clone works without a prior `npm run build`. */
export default async function setup(): Promise<void> {
  if (!existsSync(LLAMA2_TOKENIZER_JSON)) await writeLlama2TokenizerJson();
}
