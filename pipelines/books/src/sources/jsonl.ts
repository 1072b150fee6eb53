import { open } from "node:fs/promises";
import { decodeUtf8 } from "../clean/utf8.js";
import { compressionOf, decompress, fileChunks, lines, NotRegularFileError } from "./byte-stream.js";
import { reject, stringField, type InputFile, type SourceItem } from "./types.js";

/** Lines [firstLine, …) whose first byte lies in [start, end) of an uncompressed file. */
export interface LineRange {
  start: number;
  end: number;
  firstLine: number;
}

/**
 * JSONL records, streamed. An uncompressed file may be read as a byte range (a unit); .gz and .zst
 * are read whole. A bad line (invalid UTF-8, malformed JSON, no text field) is quarantined and the
 * rest goes on; a corrupt compressed stream quarantines the rest of the file.
 */
export async function* readJsonl(file: InputFile, range?: LineRange, maxRecordBytes = Number.MAX_SAFE_INTEGER): AsyncGenerator<SourceItem> {
  const compression = compressionOf(file.path);
  if (range && compression !== "none") throw new Error(`${file.name}: byte ranges need an uncompressed file`);
  const chunks = compression === "none" ? fileChunks(file.path, range?.start ?? 0, range?.end) : decompress(fileChunks(file.path), compression);
  let lineNo = range?.firstLine ?? 0;
  let sawAny = false;
  try {
    for await (const line of lines(chunks, range?.start ?? 0, maxRecordBytes)) {
      sawAny = true;
      // A byte-order mark opens the first line of a file written by some Windows tools: not part of the record.
      const bom = lineNo === 0 && hasBom(line.bytes) ? 3 : 0;
      const item = line.tooLong
        ? reject(
            file.name,
            { line: lineNo, bytes: { start: line.start, end: line.end } },
            `record too large: ${line.end - line.start} bytes > maxDocumentBytes ${maxRecordBytes}`,
          )
        : parseLine(file, line.bytes.subarray(bom), lineNo, { start: line.start + bom, end: line.end });
      if (item) yield item;
      lineNo += 1;
    }
  } catch (err) {
    // A file the system cannot read is "unreadable"; an error of the decoder is a corrupt stream.
    const systemError =
      err instanceof NotRegularFileError ||
      (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && !(err as NodeJS.ErrnoException).code?.startsWith("ERR_"));
    const what = compression === "none" || systemError ? "unreadable file" : `corrupt ${compression} stream`;
    yield reject(file.name, { line: lineNo }, `${what}: ${err instanceof Error ? err.message : String(err)} (lines from here on skipped)`);
    return;
  }
  if (!sawAny && (range === undefined || range.start === 0)) yield reject(file.name, {}, "empty file");
}

function hasBom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function parseLine(file: InputFile, bytes: Uint8Array, line: number, span: { start: number; end: number }): SourceItem | null {
  const position = { line, bytes: span };
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) return reject(file.name, position, decoded.reason);
  if (decoded.text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(decoded.text);
  } catch (err) {
    return reject(file.name, position, `malformed JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return reject(file.name, position, "malformed record: not a JSON object");
  const record = value as Record<string, unknown>;
  const text = record[file.fields.text];
  if (typeof text !== "string") {
    return reject(file.name, position, text === undefined ? `missing text field "${file.fields.text}"` : `text field "${file.fields.text}" is not a string`);
  }
  const sourceId = file.fields.id ? stringField(record, file.fields.id) : undefined;
  const title = file.fields.title ? stringField(record, file.fields.title) : undefined;
  const language = file.fields.language ? stringField(record, file.fields.language) : undefined;
  return {
    kind: "document",
    document: {
      text,
      provenanceOf: () => ({ kind: "jsonl", file: file.name, fileSha256: file.sha256, line, bytes: span }),
      ...(sourceId !== undefined ? { sourceId } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(language !== undefined ? { language } : {}),
    },
  };
}

/**
 * Cuts an uncompressed JSONL file into ranges of about `unitBytes`, each starting at a line start,
 * with the line number it starts at (one pass; newline search only).
 */
export async function jsonlRanges(path: string, unitBytes: number): Promise<LineRange[]> {
  const ranges: LineRange[] = [];
  let rangeStart = 0;
  let rangeFirstLine = 0;
  let offset = 0;
  let line = 0;
  for await (const chunk of fileChunks(path)) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      line += 1;
      const next = offset + nl + 1;
      if (next - rangeStart >= unitBytes) {
        ranges.push({ start: rangeStart, end: next, firstLine: rangeFirstLine });
        rangeStart = next;
        rangeFirstLine = line;
      }
      from = nl + 1;
    }
    offset += chunk.length;
  }
  if (offset > rangeStart || ranges.length === 0) ranges.push({ start: rangeStart, end: offset, firstLine: rangeFirstLine });
  return ranges;
}

/** The bytes of one line (for re-cleaning a provenance): [start, end) of the decompressed stream. */
export async function jsonlLineBytes(path: string, start: number, end: number): Promise<Uint8Array> {
  const compression = compressionOf(path);
  if (compression === "none") {
    const handle = await open(path, "r");
    try {
      const out = new Uint8Array(end - start);
      await handle.read(out, 0, out.length, start);
      return out;
    } finally {
      await handle.close();
    }
  }
  const out = new Uint8Array(end - start);
  let offset = 0;
  for await (const chunk of decompress(fileChunks(path), compression)) {
    const a = Math.max(start, offset);
    const b = Math.min(end, offset + chunk.length);
    if (b > a) out.set(chunk.subarray(a - offset, b - offset), a - start);
    offset += chunk.length;
    if (offset >= end) break;
  }
  return out;
}
