import { z } from "zod";
import { hashParts, stableStringify, type JsonValue } from "./hash.js";
import { RejectRecord } from "./rejects.js";

export const UNIT_RECORD_FORMAT = 1;
/** The completion record's name inside a finished unit's folder. */
export const UNIT_RECORD_FILE = "unit.json";

export interface UnitKeyParts {
  /** The step's name (e.g. "books"). */
  step: string;
  /** The step's semantic version: bump it when a unit's output would change for the same inputs. */
  version: string;
  /** What the unit does within the step (e.g. "tokenize", "window"). */
  kind: string;
  /** Exactly the config fields this unit reads: others must not change its key. */
  config: JsonValue;
  /** Content hashes of what it reads (input file sha256 + range, or the keys of the units it consumes). */
  inputs: readonly string[];
}

/**
 * The content address of a unit of work (64 hex). Equal parts give the same key on every machine;
 * a changed config field, input byte or step version gives a new key, so the unit is redone.
 */
export function unitKey(parts: UnitKeyParts): string {
  return hashParts(["lwm-unit/1", parts.step, parts.version, parts.kind, stableStringify(parts.config), ...parts.inputs]);
}

const Json: z.ZodType<JsonValue> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(Json), z.record(z.string(), Json)]));

export const UnitFile = z.object({
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type UnitFile = z.infer<typeof UnitFile>;

/**
 * The completion record, written last into the unit's temp folder before the folder is renamed
 * into place. No timestamps, hosts or absolute paths: a unit's folder is byte-identical wherever
 * and whenever it is made.
 */
export const UnitRecord = z.object({
  format: z.literal(UNIT_RECORD_FORMAT),
  step: z.string(),
  version: z.string(),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  label: z.string(),
  /** The unit's output files (in its folder), sorted by name. */
  files: z.array(UnitFile),
  /** Step-specific summary, handed to the step's finalize. */
  result: Json,
  rejects: z.array(RejectRecord),
  /** Counters for the report (e.g. inputBytes, documents, tokens). */
  metrics: z.record(z.string(), z.number()),
});
export type UnitRecord = z.infer<typeof UnitRecord>;
