import type { RejectRecord } from "@lwm/core";
import type { Provenance } from "@lwm/schemas";

/** Provenance kinds of book documents (tokens are added when windows are cut). */
export type DocumentProvenance = Extract<Provenance, { kind: "text-file" | "jsonl" | "parquet" | "epub" }>;

/** One input file as a unit reads it. */
export interface InputFile {
  /** Absolute path, for reading. */
  path: string;
  /** The path as the recipe gives it (relative to the recipe's folder when relative): provenance and rejects use this. */
  name: string;
  sha256: string;
  fields: RecordFields;
}

/** Field names of .jsonl and .parquet records. */
export interface RecordFields {
  text: string;
  id?: string;
  title?: string;
  language?: string;
}

/** Text as read from a source, before cleaning. */
export interface RawDocument {
  /** The decoded text (a .txt file, a JSONL/Parquet text field, an EPUB's spine text). */
  text: string;
  /**
   * Provenance of the part [start, end) (UTF-16 code units of `text`) the cleaner kept. For a
   * .txt this is the raw byte range of the body; record-based sources point at the whole record.
   */
  provenanceOf(start: number, end: number): DocumentProvenance;
  sourceId?: string;
  title?: string;
  language?: string;
}

export type SourceItem = { kind: "document"; document: RawDocument } | { kind: "reject"; reject: RejectRecord };

export function reject(source: string, position: RejectRecord["position"], reason: string): SourceItem {
  return { kind: "reject", reject: { source, position, reason } };
}

/** A string field of a record, or an explanation of why it is not one. */
export function stringField(record: Record<string, unknown>, field: string): string | undefined {
  const v = record[field];
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return undefined;
}
