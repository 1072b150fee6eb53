import { readFile } from "node:fs/promises";
import { decodeUtf8, utf8Length } from "../clean/utf8.js";
import { reject, type InputFile, type SourceItem } from "./types.js";

/** A .txt file is one document; the whole file is read (books are MBs; a bound guards the rest). */
export async function* readTxt(file: InputFile, maxBytes: number): AsyncGenerator<SourceItem> {
  const bytes = await readFile(file.path);
  const whole = { bytes: { start: 0, end: bytes.byteLength } };
  if (bytes.byteLength === 0) return yield reject(file.name, whole, "empty file");
  if (bytes.byteLength > maxBytes) return yield reject(file.name, whole, `file too large for one document: ${bytes.byteLength} bytes > ${maxBytes}`);
  // A NUL byte never occurs in text: say "binary" rather than pointing at some invalid byte.
  const nul = bytes.indexOf(0);
  if (nul >= 0) return yield reject(file.name, whole, `binary content: NUL byte at byte ${nul}, not a text file`);
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) return yield reject(file.name, whole, decoded.reason);
  const text = decoded.text;
  yield {
    kind: "document",
    document: {
      text,
      provenanceOf: (start, end) => ({
        kind: "text-file",
        file: file.name,
        fileSha256: file.sha256,
        bytes: { start: utf8Length(text.slice(0, start)), end: utf8Length(text.slice(0, end)) },
      }),
    },
  };
}
