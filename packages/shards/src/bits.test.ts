import { describe, expect, it } from "vitest";
import { packBitsInto, unpackBits } from "./bits.js";
import { rng } from "./test-helpers/synthetic.js";

describe("bit packing", () => {
  it("packs LSB-first and unpacks at any bit offset", () => {
    const bits = new Uint8Array(2);
    packBitsInto(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 1]), bits, 0);
    expect(Array.from(bits)).toEqual([0x81, 0x01]);
    const r = rng(5);
    for (const offset of [0, 3, 8, 13]) {
      const flags = Uint8Array.from({ length: 77 }, () => (r() < 0.5 ? 1 : 0));
      const buf = new Uint8Array(16);
      packBitsInto(flags, buf, offset);
      expect(Array.from(unpackBits(buf, offset, 77))).toEqual(Array.from(flags));
    }
  });
});
