import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleIdOf } from "./example-id.js";
import { hashParts, sha256File, sha256Hex, stableStringify } from "./hash.js";

describe("hashing", () => {
  it("sha256Hex matches the known digest of 'abc'", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new TextEncoder().encode("abc"))).toBe(sha256Hex("abc"));
  });

  it("sha256File streams a file to the same digest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "core-hash-"));
    const data = new Uint8Array(3 * (1 << 20) + 17).map((_, i) => i % 251);
    await writeFile(join(dir, "f"), data);
    expect(await sha256File(join(dir, "f"))).toBe(sha256Hex(data));
  });

  it("stableStringify ignores key order and undefined members", () => {
    expect(stableStringify({ b: 1, a: [{ y: 2, x: "s" }], u: undefined })).toBe('{"a":[{"x":"s","y":2}],"b":1}');
    expect(() => stableStringify(Number.NaN)).toThrow(/not JSON/);
  });

  it("hashParts cannot be fooled by moving a boundary between parts", () => {
    expect(hashParts(["ab", "c"])).not.toBe(hashParts(["a", "bc"]));
    expect(hashParts(["1"])).not.toBe(hashParts([1]));
  });

  it("exampleIdOf is 32 hex digits, deterministic and part-sensitive", () => {
    const id = exampleIdOf("text", "doc", 0, 100);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(exampleIdOf("text", "doc", 0, 100)).toBe(id);
    expect(exampleIdOf("text", "doc", 0, 101)).not.toBe(id);
    expect(() => exampleIdOf()).toThrow();
  });
});
