/** Strict UTF-8: invalid input is reported with its byte offset, never replaced by U+FFFD. */
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export type DecodeResult = { ok: true; text: string } | { ok: false; reason: string };

export function decodeUtf8(bytes: Uint8Array): DecodeResult {
  try {
    return { ok: true, text: decoder.decode(bytes) };
  } catch {
    return { ok: false, reason: `invalid UTF-8 at byte ${firstInvalidUtf8Offset(bytes)}` };
  }
}

/**
 * Offset of the first byte that starts an ill-formed UTF-8 sequence (overlongs, surrogates and
 * values past U+10FFFF included), or -1 when the bytes are valid.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** UTF-8 length of a string without allocating its bytes. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
