/**
 * Arrow booleans are LSB-first bitmaps: bit i lives in byte i>>3 at position i&7. These helpers
 * convert between that and one byte (0|1) per token, the form PackedRow uses.
 */

/** Bit `i` of an LSB-first bitmap, 0 or 1. */
export function bitAt(bits: Uint8Array, i: number): number {
  return (bits[i >> 3]! >> (i & 7)) & 1;
}

/** Writes the low bit of each of `flags` into `bits` starting at bit `bitOffset`; bits must be zeroed. */
export function packBitsInto(flags: Uint8Array, bits: Uint8Array, bitOffset: number): void {
  const n = flags.length;
  let i = 0;
  // Leading bits until the bit position is byte-aligned.
  for (; i < n && ((bitOffset + i) & 7) !== 0; i++) {
    if (flags[i]! & 1) bits[(bitOffset + i) >> 3]! |= 1 << ((bitOffset + i) & 7);
  }
  let byte = (bitOffset + i) >> 3;
  for (; i + 8 <= n; i += 8, byte++) {
    bits[byte] =
      (flags[i]! & 1) |
      ((flags[i + 1]! & 1) << 1) |
      ((flags[i + 2]! & 1) << 2) |
      ((flags[i + 3]! & 1) << 3) |
      ((flags[i + 4]! & 1) << 4) |
      ((flags[i + 5]! & 1) << 5) |
      ((flags[i + 6]! & 1) << 6) |
      ((flags[i + 7]! & 1) << 7);
  }
  for (; i < n; i++) {
    if (flags[i]! & 1) bits[(bitOffset + i) >> 3]! |= 1 << ((bitOffset + i) & 7);
  }
}

/** Reads `length` bits starting at bit `bitOffset` into a new 0|1 byte array. */
export function unpackBits(bits: Uint8Array, bitOffset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let i = 0;
  for (; i < length && ((bitOffset + i) & 7) !== 0; i++) out[i] = (bits[(bitOffset + i) >> 3]! >> ((bitOffset + i) & 7)) & 1;
  let byte = (bitOffset + i) >> 3;
  for (; i + 8 <= length; i += 8, byte++) {
    const b = bits[byte]!;
    out[i] = b & 1;
    out[i + 1] = (b >> 1) & 1;
    out[i + 2] = (b >> 2) & 1;
    out[i + 3] = (b >> 3) & 1;
    out[i + 4] = (b >> 4) & 1;
    out[i + 5] = (b >> 5) & 1;
    out[i + 6] = (b >> 6) & 1;
    out[i + 7] = (b >> 7) & 1;
  }
  for (; i < length; i++) out[i] = (bits[(bitOffset + i) >> 3]! >> ((bitOffset + i) & 7)) & 1;
  return out;
}
