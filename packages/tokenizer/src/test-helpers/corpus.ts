import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL("../../../..", import.meta.url)));
/** The shared sample data beside the repository; absent on a fresh clone. */
export const sharedBooksDir = resolve(repoRoot, "../shared/data/books");
export const hasSharedBooks = existsSync(sharedBooksDir);

export interface Book {
  name: string;
  /** The whole file as UTF-8, byte-order mark included (Buffer.toString keeps it). */
  text: string;
}

export function readSharedBooks(): Book[] {
  return readdirSync(sharedBooksDir)
    .filter((name) => name.endsWith(".txt"))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(sharedBooksDir, name)).toString("utf8") }));
}

/**
 * Paragraph chunks that concatenate back to `text` exactly: each ends after a blank line (or at
 * the end). Both tokenizers are given the same chunks, so every character is compared.
 */
export function paragraphChunks(text: string): string[] {
  return text.split(/(?<=\n\n)/);
}
