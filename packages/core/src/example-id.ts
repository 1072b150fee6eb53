import { hashParts } from "./hash.js";

/**
 * The deterministic, content-derived id of an example: the first 32 hex digits (128 bits) of the
 * sha256 over its identifying parts (e.g. task, source document id, token range). Equal parts give
 * equal ids on every machine and every run; the parts are length-prefixed, so they cannot run together.
 */
export function exampleIdOf(...parts: ReadonlyArray<string | number | Uint8Array>): string {
  if (parts.length === 0) throw new RangeError("exampleIdOf: give at least one part");
  return hashParts(parts).slice(0, 32);
}
