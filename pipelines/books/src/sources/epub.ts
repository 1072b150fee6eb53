import { posix } from "node:path";
import { unzipSync } from "fflate";
import { parse, type HTMLElement } from "node-html-parser";
import { decodeUtf8 } from "../clean/utf8.js";
import { languageCode } from "../clean/gutenberg.js";
import { openRegularFile } from "./byte-stream.js";
import { reject, type InputFile, type SourceItem } from "./types.js";

class EpubTooLargeError extends Error {}

export interface EpubBook {
  /** Zip entry names of the spine documents, in reading order. */
  entries: string[];
  /** Text of each spine entry (block elements become lines). */
  texts: string[];
  title?: string;
  language?: string;
}

/**
 * Reads an EPUB: META-INF/container.xml → the OPF package → manifest + spine → XHTML documents in
 * spine order, each turned into text with node-html-parser (block elements end lines).
 */
export function parseEpub(bytes: Uint8Array, maxBytes = Number.MAX_SAFE_INTEGER): EpubBook {
  let files: Record<string, Uint8Array>;
  // Entries are inflated into buffers of their declared size, so bounding the declared sizes
  // bounds memory (a zip bomb is refused before anything is inflated).
  let declared = 0;
  try {
    files = unzipSync(bytes, {
      filter: (entry) => {
        declared += entry.originalSize;
        if (declared > maxBytes) throw new EpubTooLargeError(`entries inflate to more than maxDocumentBytes ${maxBytes} bytes (at ${entry.name})`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof EpubTooLargeError) throw err;
    throw new Error(`not a readable zip archive (${err instanceof Error ? err.message : String(err)})`);
  }
  const text = (name: string): string => {
    const data = files[name];
    if (!data) throw new Error(`missing entry ${name}`);
    const decoded = decodeUtf8(data);
    if (!decoded.ok) throw new Error(`${name}: ${decoded.reason}`);
    return decoded.text;
  };
  const container = parse(text("META-INF/container.xml"));
  const opfPath = container.querySelector("rootfile")?.getAttribute("full-path");
  if (!opfPath) throw new Error("META-INF/container.xml names no rootfile");
  const opf = parse(text(opfPath));
  const base = posix.dirname(opfPath);
  const manifest = new Map<string, string>();
  for (const item of opf.querySelectorAll("item")) {
    const id = item.getAttribute("id");
    const href = item.getAttribute("href");
    if (id && href) manifest.set(id, posix.normalize(base === "." ? decodeURIComponent(href) : posix.join(base, decodeURIComponent(href))));
  }
  const entries: string[] = [];
  for (const ref of opf.querySelectorAll("itemref")) {
    const idref = ref.getAttribute("idref");
    const href = idref ? manifest.get(idref) : undefined;
    if (!href) throw new Error(`spine item "${idref ?? ""}" is not in the manifest`);
    entries.push(href);
  }
  if (entries.length === 0) throw new Error("the spine is empty");
  const texts = entries.map((entry) => xhtmlText(text(entry)));
  const book: EpubBook = { entries, texts };
  const title = metadataText(opf, "dc:title");
  const language = metadataText(opf, "dc:language");
  if (title) book.title = title;
  if (language) book.language = languageCode(language.split("-")[0] ?? language);
  return book;
}

/** The book's text: its spine entries' texts, separated by a blank line. */
export function epubText(book: Pick<EpubBook, "texts">): string {
  return book.texts
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .join("\n\n");
}

export async function* readEpub(file: InputFile, maxBytes: number): AsyncGenerator<SourceItem> {
  const { handle, size } = await openRegularFile(file.path);
  let bytes: Buffer;
  try {
    if (size > maxBytes) return yield reject(file.name, {}, `file too large for one document: ${size} bytes > maxDocumentBytes ${maxBytes}`);
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  if (bytes.byteLength === 0) return yield reject(file.name, {}, "empty file");
  let book: EpubBook;
  try {
    book = parseEpub(bytes, maxBytes);
  } catch (err) {
    if (err instanceof EpubTooLargeError) return yield reject(file.name, {}, `EPUB too large: ${err.message}`);
    return yield reject(file.name, {}, `corrupt EPUB: ${err instanceof Error ? err.message : String(err)}`);
  }
  yield {
    kind: "document",
    document: {
      text: epubText(book),
      provenanceOf: () => ({ kind: "epub", file: file.name, fileSha256: file.sha256, entries: book.entries }),
      ...(book.title !== undefined ? { title: book.title } : {}),
      ...(book.language !== undefined ? { language: book.language } : {}),
    },
  };
}

function xhtmlText(xhtml: string): string {
  const root = parse(xhtml, { blockTextElements: { script: false, style: false } });
  const body = root.querySelector("body") ?? root;
  return body.structuredText;
}

function metadataText(opf: HTMLElement, tag: string): string | undefined {
  const el = opf.getElementsByTagName(tag)[0];
  const t = el?.text.trim();
  return t ? t : undefined;
}
