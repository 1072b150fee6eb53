import { decodeUtf8, utf8Length } from "../clean/utf8.js";
import { openRegularFile } from "./byte-stream.js";
import { reject, type InputFile, type SourceItem } from "./types.js";

/**
 * A .txt file is one document. Its size is checked before anything is read (a bound guards memory),
 * then the whole file is read (books are MBs).
 */
export async function* readTxt(file: InputFile, maxBytes: number): AsyncGenerator<SourceItem> {
  const { handle, size } = await openRegularFile(file.path);
  let bytes: Buffer;
  try {
    if (size > maxBytes)
      return yield reject(file.name, { bytes: { start: 0, end: size } }, `file too large for one document: ${size} bytes > maxDocumentBytes ${maxBytes}`);
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  const whole = { bytes: { start: 0, end: bytes.byteLength } };
  if (bytes.byteLength === 0) return yield reject(file.name, whole, "empty file");
  if (bytes.byteLength > maxBytes)
    return yield reject(file.name, whole, `file too large for one document: ${bytes.byteLength} bytes > maxDocumentBytes ${maxBytes}`);
  const utf16 = utf16Reason(bytes);
  if (utf16) return yield reject(file.name, whole, utf16);
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

/**
 * UTF-16 text, by its byte-order mark or (without one) by NUL bytes in every other position of its
 * start, as ASCII-range text encoded in UTF-16 has: say so, rather than "binary".
 */
export function utf16Reason(bytes: Uint8Array): string | null {
  const hint = "convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return `UTF-16 text (little-endian byte-order mark), not UTF-8: ${hint}`;
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return `UTF-16 text (big-endian byte-order mark), not UTF-8: ${hint}`;
  const n = Math.min(bytes.length, 512) & ~1;
  if (n < 8) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul += 1;
    if (bytes[i + 1] === 0) oddNul += 1;
  }
  const pairs = n / 2;
  if (oddNul >= pairs * 0.9 && evenNul === 0) return `UTF-16 text (little-endian, no byte-order mark), not UTF-8: ${hint}`;
  if (evenNul >= pairs * 0.9 && oddNul === 0) return `UTF-16 text (big-endian, no byte-order mark), not UTF-8: ${hint}`;
  return null;
}
