import { z } from "zod";
import { ByteRange } from "@lwm/schemas";

/** Where in a source a rejected record sits; only the fields that apply are present. */
export const RejectPosition = z.object({
  /** 0-based line number (JSONL, in the decompressed stream). */
  line: z.number().int().nonnegative().optional(),
  /** Raw byte range of the record (or of the whole file when the file itself is bad). */
  bytes: ByteRange.optional(),
  rowGroup: z.number().int().nonnegative().optional(),
  row: z.number().int().nonnegative().optional(),
  /** Archive entry (EPUB). */
  entry: z.string().optional(),
});
export type RejectPosition = z.infer<typeof RejectPosition>;

/** One quarantined record or file: a line of a step's rejects.jsonl. */
export const RejectRecord = z.object({
  /** The input file, as named in the recipe (relative to the recipe's folder when given relative). */
  source: z.string(),
  position: RejectPosition,
  /** Why, in words a person can act on (e.g. "invalid UTF-8 at byte 1042"). */
  reason: z.string().min(1),
});
export type RejectRecord = z.infer<typeof RejectRecord>;

/**
 * A short category for counting: the reason up to its first ":" or " at ", so "invalid UTF-8 at
 * byte 7" and "invalid UTF-8 at byte 90" count together.
 */
export function rejectCategory(reason: string): string {
  const cut = reason.search(/:| at | \(/);
  return (cut > 0 ? reason.slice(0, cut) : reason).trim();
}

export function countRejects(rejects: Iterable<RejectRecord>): { total: number; byReason: Record<string, number> } {
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const r of rejects) {
    total += 1;
    const category = rejectCategory(r.reason);
    byReason[category] = (byReason[category] ?? 0) + 1;
  }
  return { total, byReason: Object.fromEntries(Object.entries(byReason).sort(([a], [b]) => a.localeCompare(b))) };
}
