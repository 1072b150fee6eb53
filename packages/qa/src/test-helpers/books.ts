import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** ../shared/data/books from the repository root, when this checkout has it. */
export const SHARED_BOOKS = fileURLToPath(new URL("../../../../../shared/data/books/", import.meta.url));

export function sharedBook(name: string): string | null {
  const path = `${SHARED_BOOKS}${name}`;
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

/** The body of a Project Gutenberg text: between the START and END markers. */
export function gutenbergBody(text: string): string {
  const start = /\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG[^\n]*\n/i.exec(text);
  const end = /\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG/i.exec(text);
  return text
    .slice(start ? start.index + start[0].length : 0, end ? end.index : text.length)
    .replace(/\r\n?/g, "\n")
    .trim();
}
