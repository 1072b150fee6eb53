import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { decodeUtf8 } from "../clean/utf8.js";
import { openRegularFile } from "./byte-stream.js";
import { reject, type InputFile, type SourceItem } from "./types.js";

/** Row groups [start, end) of one Parquet file: a unit's share. */
export interface RowGroupRange {
  start: number;
  end: number;
}

export async function parquetMetadata(path: string): Promise<FileMetaData> {
  return parquetMetadataAsync(await asyncBufferFromFile(path));
}

/**
 * Groups consecutive row groups into ranges of about `unitBytes` (compressed); an unreadable file
 * gives one range covering "all" so that its unit quarantines it with the reason.
 */
export async function rowGroupRanges(path: string, unitBytes: number): Promise<RowGroupRange[]> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadata(path);
  } catch {
    return [{ start: 0, end: Number.MAX_SAFE_INTEGER }];
  }
  const ranges: RowGroupRange[] = [];
  let start = 0;
  let bytes = 0;
  metadata.row_groups.forEach((rg, i) => {
    bytes += Number(rg.total_byte_size);
    if (bytes >= unitBytes) {
      ranges.push({ start, end: i + 1 });
      start = i + 1;
      bytes = 0;
    }
  });
  if (start < metadata.row_groups.length || ranges.length === 0) ranges.push({ start, end: metadata.row_groups.length });
  return ranges;
}

/**
 * Records of row groups [range.start, range.end), read with hyparquet (+ snappy/zstd/brotli/lz4
 * from hyparquet-compressors). Strings are read as bytes and decoded strictly, so invalid UTF-8 is
 * quarantined rather than replaced. A file that cannot be read, or lacks the text column, is one reject.
 */
export async function* readParquet(file: InputFile, range: RowGroupRange, maxBytes = Number.MAX_SAFE_INTEGER): AsyncGenerator<SourceItem> {
  let metadata: FileMetaData;
  const { handle, size } = await openRegularFile(file.path);
  await handle.close();
  if (size === 0) return yield reject(file.name, {}, "empty file");
  const buffer = await asyncBufferFromFile(file.path);
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    return yield reject(file.name, {}, `unreadable Parquet file: ${message(err)}`);
  }
  if (range.start === 0 && Number(metadata.num_rows) === 0) return yield reject(file.name, {}, "no rows: the Parquet file is empty");
  const columns = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  if (!columns.has(file.fields.text)) {
    return yield reject(file.name, {}, `missing text column "${file.fields.text}" (columns: ${[...columns].join(", ")})`);
  }
  const wanted = [file.fields.text, file.fields.id, file.fields.title, file.fields.language].filter((c): c is string => c !== undefined && columns.has(c));
  let rowStart = 0;
  for (let g = 0; g < metadata.row_groups.length; g += 1) {
    const rows = Number((metadata.row_groups[g] as FileMetaData["row_groups"][number]).num_rows);
    const declared = Number((metadata.row_groups[g] as FileMetaData["row_groups"][number]).total_byte_size);
    if (g >= range.start && g < range.end && declared > maxBytes) {
      // Pages are inflated into buffers of their declared sizes: refuse before reading anything.
      yield reject(file.name, { rowGroup: g }, `row group too large: ${declared} bytes uncompressed > maxDocumentBytes ${maxBytes}`);
    } else if (g >= range.start && g < range.end) {
      let records: Record<string, unknown>[];
      try {
        records = await parquetReadObjects({
          file: buffer,
          metadata,
          columns: [...new Set(wanted)],
          rowStart,
          rowEnd: rowStart + rows,
          compressors,
          utf8: false,
        });
      } catch (err) {
        yield reject(file.name, { rowGroup: g }, `unreadable row group: ${message(err)}`);
        rowStart += rows;
        continue;
      }
      for (let r = 0; r < records.length; r += 1) {
        const item = toDocument(file, records[r] as Record<string, unknown>, g, r);
        if (item) yield item;
      }
    }
    rowStart += rows;
  }
}

function toDocument(file: InputFile, record: Record<string, unknown>, rowGroup: number, row: number): SourceItem | null {
  const position = { rowGroup, row };
  const text = fieldText(record[file.fields.text], file.fields.text);
  if (text === null) return reject(file.name, position, `null text in column "${file.fields.text}"`);
  if (!text.ok) return reject(file.name, position, text.reason);
  const optional = (field: string | undefined): string | undefined => (field ? metadataText(record[field]) : undefined);
  const sourceId = optional(file.fields.id);
  const title = optional(file.fields.title);
  const language = optional(file.fields.language);
  return {
    kind: "document",
    document: {
      text: text.text,
      provenanceOf: () => ({ kind: "parquet", file: file.name, fileSha256: file.sha256, rowGroup, row }),
      ...(sourceId !== undefined ? { sourceId } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(language !== undefined ? { language } : {}),
    },
  };
}

/**
 * A Parquet cell as text: byte arrays decoded strictly, strings kept; anything else is rejected, as
 * a JSONL text field that is not a string is (a number is not a document).
 */
function fieldText(value: unknown, column: string): { ok: true; text: string } | { ok: false; reason: string } | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return decodeUtf8(value);
  if (typeof value === "string") return { ok: true, text: value };
  return { ok: false, reason: `text column "${column}" is not a string (it holds a ${typeof value})` };
}

/** An optional metadata cell (id, title, language) as text: strings, and numbers printed (ids often are). */
function metadataText(value: unknown): string | undefined {
  if (value instanceof Uint8Array) {
    const d = decodeUtf8(value);
    return d.ok ? d.text : undefined;
  }
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
