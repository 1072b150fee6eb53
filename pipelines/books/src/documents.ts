import { z } from "zod";
import { Provenance } from "@lwm/schemas";

/** A line of a tokenize unit's documents.jsonl (and of the step's documents.jsonl): one document, no tokens. */
export const DocumentEntry = z.object({
  /** Deterministic: exampleIdOf("book-document", stable JSON of its provenance). */
  documentId: z.string().regex(/^[0-9a-f]{32}$/),
  /** sha256 of the cleaned text (exact duplicate detection). */
  contentSha256: z.string().regex(/^[0-9a-f]{64}$/),
  tokens: z.number().int().nonnegative(),
  chars: z.number().int().nonnegative(),
  title: z.string().optional(),
  language: z.string().optional(),
  /** The record's own id (jsonl/parquet idField). */
  sourceId: z.string().optional(),
  provenance: Provenance,
  /** Set in the step's documents.jsonl for a removed exact duplicate: the documentId it duplicates. */
  duplicateOf: z.string().optional(),
});
export type DocumentEntry = z.infer<typeof DocumentEntry>;
