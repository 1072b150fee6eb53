import { describe, expect, it } from "vitest";
import { decodeUtf8, firstInvalidUtf8Offset } from "./utf8.js";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("strict UTF-8", () => {
  it("accepts valid text of every length class", () => {
    const text = "a é € 😀 ß";
    const encoded = new TextEncoder().encode(text);
    expect(firstInvalidUtf8Offset(encoded)).toBe(-1);
    expect(decodeUtf8(encoded)).toEqual({ ok: true, text });
  });

  it.each([
    ["a lone continuation byte", bytes(0x41, 0x80), 1],
    ["a truncated 3-byte sequence", bytes(0x41, 0x42, 0xe2, 0x82), 2],
    ["an overlong slash", bytes(0xc0, 0xaf), 0],
    ["a UTF-16 surrogate", bytes(0x61, 0xed, 0xa0, 0x80), 1],
    ["a value past U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ["a Latin-1 é", bytes(0x63, 0x61, 0x66, 0xe9), 3],
  ])("rejects %s with its byte offset, never replacing it", (_name, input, offset) => {
    expect(firstInvalidUtf8Offset(input)).toBe(offset);
    expect(decodeUtf8(input)).toEqual({ ok: false, reason: `invalid UTF-8 at byte ${offset}` });
  });
});
