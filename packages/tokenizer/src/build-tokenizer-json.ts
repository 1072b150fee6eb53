/**
 * Build step: derives the Llama-2 tokenizer.json from llama-tokenizer-js and writes it to
 * assets/llama2/tokenizer.json (a build output, never committed: the vocabulary is Meta's).
 */
import { pathToFileURL } from "node:url";
import { writeFileAtomic } from "@lwm/core";
import { LLAMA2_TOKENIZER_JSON } from "./assets.js";
import { deriveLlama2TokenizerJson } from "./llama2-json.js";

/** Writes atomically (core's writeFileAtomic), so a reader never sees half a file. */
export async function writeLlama2TokenizerJson(target: string = LLAMA2_TOKENIZER_JSON): Promise<string> {
  await writeFileAtomic(target, JSON.stringify(deriveLlama2TokenizerJson()));
  return target;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = await writeLlama2TokenizerJson();
  console.log(`wrote ${written}`);
}
