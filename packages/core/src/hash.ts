import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Lowercase hex sha256 of bytes or of a string's UTF-8 encoding. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Lowercase hex sha256 of a file, streamed (bounded memory for any size). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** JSON-compatible values that `stableStringify` accepts. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

/**
 * JSON with object keys sorted at every level and `undefined` members dropped, so that equal values
 * always give equal strings (and equal hashes) whatever order their keys were written in.
 */
export function stableStringify(value: JsonValue): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`stableStringify: ${value} is not JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v)).join(",")}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] as JsonValue)}`).join(",")}}`;
}

/**
 * sha256 over a sequence of parts, each length-prefixed so that ("ab","c") and ("a","bc") differ.
 * Numbers are hashed by their decimal form.
 */
export function hashParts(parts: ReadonlyArray<string | number | Uint8Array>): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : typeof part === "number" ? Buffer.from(String(part), "utf8") : part;
    const tag = typeof part === "string" ? "s" : typeof part === "number" ? "n" : "b";
    hash.update(`${tag}${bytes.byteLength}:`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}
