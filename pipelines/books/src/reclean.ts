import { open, readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { cleanText, normalizeBody, type CleanOptions } from "./clean/clean.js";
import { decodeUtf8 } from "./clean/utf8.js";
import type { DocumentProvenance, RecordFields } from "./sources/types.js";
import { epubText, parseEpub } from "./sources/epub.js";
import { jsonlLineBytes } from "./sources/jsonl.js";

/**
 * Re-reads the raw slice a document's provenance names and cleans it again: for a deterministic
 * pipeline this gives the document's text exactly (the property the tests check on every book).
 * `baseDir` resolves relative file names (the recipe's folder).
 */
export async function recleanFromProvenance(
  provenance: DocumentProvenance,
  options: { baseDir: string; fields: RecordFields; clean: CleanOptions },
): Promise<string> {
  const path = isAbsolute(provenance.file) ? provenance.file : resolve(options.baseDir, provenance.file);
  let raw: string;
  switch (provenance.kind) {
    case "text-file": {
      const handle = await open(path, "r");
      try {
        const bytes = new Uint8Array(provenance.bytes.end - provenance.bytes.start);
        await handle.read(bytes, 0, bytes.length, provenance.bytes.start);
        // The range is the body the cleaner kept (framing excluded), so only normalisation remains.
        return normalizeBody(strict(bytes));
      } finally {
        await handle.close();
      }
    }
    case "jsonl": {
      const record = JSON.parse(strict(await jsonlLineBytes(path, provenance.bytes.start, provenance.bytes.end))) as Record<string, unknown>;
      raw = String(record[options.fields.text]);
      break;
    }
    case "parquet": {
      const file = await asyncBufferFromFile(path);
      const metadata = await parquetMetadataAsync(file);
      let rowStart = 0;
      for (let g = 0; g < provenance.rowGroup; g += 1) rowStart += Number(metadata.row_groups[g]?.num_rows ?? 0);
      rowStart += provenance.row;
      const [record] = await parquetReadObjects({ file, metadata, columns: [options.fields.text], rowStart, rowEnd: rowStart + 1, compressors, utf8: false });
      const cell = record?.[options.fields.text];
      raw = cell instanceof Uint8Array ? strict(cell) : String(cell);
      break;
    }
    case "epub": {
      const book = parseEpub(await readFile(path));
      const texts = provenance.entries.map((entry) => {
        const i = book.entries.indexOf(entry);
        if (i < 0) throw new Error(`${provenance.file}: no spine entry ${entry}`);
        return book.texts[i] as string;
      });
      raw = epubText({ texts });
      break;
    }
  }
  const cleaned = cleanText(raw, options.clean);
  if (!cleaned.ok) throw new Error(`${provenance.file}: the slice no longer cleans: ${cleaned.reason}`);
  return cleaned.text;
}

function strict(bytes: Uint8Array): string {
  const d = decodeUtf8(bytes);
  if (!d.ok) throw new Error(d.reason);
  return d.text;
}
