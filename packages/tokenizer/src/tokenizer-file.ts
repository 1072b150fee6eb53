import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { formatZodError } from "@lwm/schemas";
import { Tokenizer as NativeTokenizer } from "tokenizers";
import { z } from "zod";
import { cutRulesOf, type CutRules } from "./safe-cuts.js";

/** A tokenizer.json that could not be read, parsed or accepted; `file` names it. */
export class TokenizerFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "TokenizerFileError";
  }
}

/**
 * The part of Hugging Face's tokenizer.json this package relies on; the rest is the native
 * library's to judge (it rejects what it cannot load, and that error is reported with the file).
 */
const TokenizerJson = z.looseObject({
  model: z.looseObject({ type: z.string().optional() }),
  added_tokens: z.array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean() })).nullish(),
});

export interface LoadedTokenizerFile {
  native: NativeTokenizer;
  /** sha256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** Where long texts may be cut without changing their ids. */
  cutRules: CutRules;
}

/**
 * Reads the bytes once, hashes them and builds the native tokenizer from those same bytes, so the
 * recorded hash always describes the tokenizer in use.
 */
export async function readTokenizerFile(file: string, hint?: string): Promise<LoadedTokenizerFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "tokenizer.json not found" : `cannot read tokenizer.json (${code ?? String(error)})`;
    throw new TokenizerFileError(file, hint ? `${reason}; ${hint}` : reason);
  }
  const text = bytes.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenizerFileError(file, `not valid JSON (${(error as Error).message})`);
  }
  const shape = TokenizerJson.safeParse(json);
  if (!shape.success) {
    throw new TokenizerFileError(file, `not a Hugging Face tokenizer.json: ${formatZodError(shape.error)}`);
  }
  let native: NativeTokenizer;
  try {
    native = NativeTokenizer.fromString(text);
  } catch (error) {
    throw new TokenizerFileError(file, `rejected by Hugging Face tokenizers: ${(error as Error).message}`);
  }
  return { native, sha256: createHash("sha256").update(bytes).digest("hex"), cutRules: cutRulesOf(json) };
}
