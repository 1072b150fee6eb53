/**
 * A vision source's corpus → samples: one per JSONL line, CSV data row or Parquet row (a column
 * mapping says which column holds what), or one per media file of a folder with `<stem>.txt`
 * captions. Nothing here judges a sample: a row whose fields are missing still becomes a sample,
 * so that it ends as a reject with its reason and position, never silently dropped.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { ConfigError, sha256File, sha256Hex } from "@lwm/core";
import type { CorpusColumns, CorpusFormat, VisionSource } from "@lwm/schemas";
import { parseCsv } from "./csv.js";

export type Scalar = string | number | boolean | null;

export interface CorpusSample {
  /** 0-based position: JSONL line, CSV data row, Parquet row (across row groups), folder entry. */
  row: number;
  /** Media path as the row gives it (null when the column is missing or not a string). */
  media: string | null;
  /** The media file on disk (null when `media` is). */
  mediaPath: string | null;
  /** The media file relative to the recipe's folder, as provenance names it. */
  mediaFile: string | null;
  caption: Scalar | undefined;
  start: Scalar | undefined;
  end: Scalar | undefined;
  id: string | undefined;
  /** Columns the mapping does not use. */
  extra: Record<string, Scalar>;
  /** Set when the row itself could not be read (a JSONL line that is not a JSON object). */
  unreadable?: string;
}

export interface Corpus {
  /** The corpus path relative to the recipe's folder (as provenance and rejects name it). */
  name: string;
  format: Exclude<CorpusFormat, "auto">;
  /** sha256 of the corpus file; of the folder's listing and captions for a folder. */
  sha256: string;
  samples: CorpusSample[];
}

const FORMAT_BY_EXTENSION: Record<string, Exclude<CorpusFormat, "auto" | "folder">> = { ".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet" };

export async function readCorpus(source: VisionSource, index: number, recipeDir: string): Promise<Corpus> {
  const path = resolve(recipeDir, source.corpus);
  const field = `sources[${index}].corpus`;
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new ConfigError(field, `${path}: no such file or folder`);
  }
  const format = source.format === "auto" ? (isDir ? "folder" : FORMAT_BY_EXTENSION[extname(path).toLowerCase()]) : source.format;
  if (!format)
    throw new ConfigError(`sources[${index}].format`, `cannot tell the format of ${source.corpus} from its extension: give format jsonl, csv or parquet`);
  if ((format === "folder") !== isDir) throw new ConfigError(field, `${source.corpus} is ${isDir ? "a folder" : "a file"}, format is ${format}`);
  const mediaRoot = source.mediaRoot ? resolve(recipeDir, source.mediaRoot) : isDir ? path : dirname(path);
  const name = relative(recipeDir, path) || ".";
  if (format === "folder") return { name, format, ...(await readFolder(path, recipeDir)) };
  const records = await readRecords(path, format, field);
  const samples = records.map((r, row) => (typeof r === "string" ? unreadable(row, r) : sampleOf(row, r, source.columns, mediaRoot, recipeDir)));
  return { name, format, sha256: await sha256File(path), samples };
}

function unreadable(row: number, why: string): CorpusSample {
  return {
    row,
    media: null,
    mediaPath: null,
    mediaFile: null,
    caption: undefined,
    start: undefined,
    end: undefined,
    id: undefined,
    extra: {},
    unreadable: why,
  };
}

function scalar(v: unknown): Scalar {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return Number(v);
  return JSON.stringify(v) ?? null;
}

function sampleOf(row: number, record: Record<string, unknown>, columns: CorpusColumns, mediaRoot: string, recipeDir: string): CorpusSample {
  const used = new Set([columns.media, columns.caption, columns.start, columns.end, columns.id].filter((c): c is string => c !== undefined));
  const media = typeof record[columns.media] === "string" && record[columns.media] !== "" ? (record[columns.media] as string) : null;
  const get = (c: string | undefined) => (c !== undefined && c in record ? scalar(record[c]) : undefined);
  const id = get(columns.id);
  return {
    row,
    media,
    mediaPath: media === null ? null : resolve(mediaRoot, media),
    mediaFile: media === null ? null : relative(recipeDir, resolve(mediaRoot, media)),
    caption: get(columns.caption),
    start: get(columns.start),
    end: get(columns.end),
    id: id === undefined || id === null ? undefined : String(id),
    extra: Object.fromEntries(
      Object.entries(record)
        .filter(([k]) => !used.has(k))
        .map(([k, v]) => [k, scalar(v)]),
    ),
  };
}

/** Rows as objects; a string in place of a row is why it could not be read. */
async function readRecords(path: string, format: "jsonl" | "csv" | "parquet", field: string): Promise<(Record<string, unknown> | string)[]> {
  if (format === "parquet") {
    try {
      const file = await asyncBufferFromFile(path);
      const metadata = await parquetMetadataAsync(file);
      return (await parquetReadObjects({ file, metadata, compressors })) as Record<string, unknown>[];
    } catch (err) {
      throw new ConfigError(field, `${path}: unreadable Parquet file: ${(err as Error).message}`);
    }
  }
  const text = await readFile(path, "utf8");
  if (format === "csv") {
    let table;
    try {
      table = parseCsv(text);
    } catch (err) {
      throw new ConfigError(field, `${path}: ${(err as Error).message}`);
    }
    return table.rows.map((cells) => Object.fromEntries(table.header.map((h, k) => [h, cells[k] ?? null])));
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => {
    try {
      const v = JSON.parse(line) as unknown;
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : "the line is not a JSON object";
    } catch (err) {
      return `invalid JSON (${(err as Error).message})`;
    }
  });
}

/** Caption files and metadata beside the media (img2dataset writes <key>.txt and <key>.json). */
const SIDECAR = new Set([".txt", ".json"]);

async function readFolder(dir: string, recipeDir: string): Promise<Omit<Corpus, "name" | "format">> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  const listing: string[] = [];
  const samples: CorpusSample[] = [];
  for (const name of names.filter((n) => !SIDECAR.has(extname(n).toLowerCase()))) {
    const stem = basename(name, extname(name));
    const captionFile = `${stem}.txt`;
    let caption: string | undefined;
    if (names.includes(captionFile)) caption = (await readFile(join(dir, captionFile), "utf8")).trim();
    listing.push(`${name}\t${caption ?? ""}`);
    samples.push({
      row: samples.length,
      media: name,
      mediaPath: join(dir, name),
      mediaFile: relative(recipeDir, join(dir, name)),
      caption,
      start: undefined,
      end: undefined,
      id: stem,
      extra: {},
    });
  }
  return { sha256: sha256Hex(listing.join("\n")), samples };
}
