/**
 * Build step: derives the Llama-2 tokenizer.json from llama-tokenizer-js and writes it to
 * assets/llama2/tokenizer.json (a build output, never committed: the vocabulary is Meta's).
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { LLAMA2_TOKENIZER_JSON } from "./assets.js";
import { deriveLlama2TokenizerJson } from "./llama2-json.js";

/** Writes through a temp file and a rename, so a reader never sees half a file. */
export async function writeLlama2TokenizerJson(target: string = LLAMA2_TOKENIZER_JSON): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(deriveLlama2TokenizerJson()));
  await rename(temp, target);
  return target;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = await writeLlama2TokenizerJson();
  console.log(`wrote ${written}`);
}
