import { fileURLToPath } from "node:url";

/**
 * Where the build writes the derived Llama-2 tokenizer.json. src/ and dist/ sit at the same depth
 * below the package root, so this resolves the same from sources (tests) and from the build.
 */
export const LLAMA2_TOKENIZER_JSON = fileURLToPath(new URL("../assets/llama2/tokenizer.json", import.meta.url));
