/**
 * The EXIF Orientation tag (0x0112) of a JPEG, and the ffmpeg filters that turn its stored pixels
 * upright. ffmpeg 5.1 reads the tag into frame metadata but does not apply it to images (its
 * autorotate follows stream display matrices only), so the decoder applies it itself, as PIL's
 * ImageOps.exif_transpose would (LWM itself did not, but a sideways photo is a worse frame).
 */
import { open } from "node:fs/promises";

/** 1 = upright … 8, as in the EXIF specification; 1 when the file has no (valid) tag. */
export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** Reads the orientation from the first 256 KiB (where a JPEG's APP1 segment lives). */
export async function jpegOrientation(file: string): Promise<ExifOrientation> {
  const fh = await open(file, "r");
  try {
    const head = Buffer.alloc(256 << 10);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return orientationIn(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Walks the JPEG markers up to the image data; the first APP1 "Exif" segment's IFD0 has the tag. */
export function orientationIn(jpeg: Buffer): ExifOrientation {
  if (jpeg.length < 4 || jpeg.readUInt16BE(0) !== 0xffd8) return 1;
  for (let at = 2; at + 4 <= jpeg.length;) {
    if (jpeg[at] !== 0xff) return 1;
    const marker = jpeg[at + 1]!;
    if (marker === 0xd9 || marker === 0xda) return 1; // end of image / start of scan
    const len = jpeg.readUInt16BE(at + 2);
    if (marker === 0xe1 && jpeg.toString("latin1", at + 4, at + 10) === "Exif\0\0") return tiffOrientation(jpeg.subarray(at + 10, at + 2 + len));
    at += 2 + len;
  }
  return 1;
}

function tiffOrientation(tiff: Buffer): ExifOrientation {
  if (tiff.length < 8) return 1;
  const le = tiff.toString("latin1", 0, 2) === "II";
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return 1;
  const entries = u16(ifd);
  for (let k = 0; k < entries; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > tiff.length) return 1;
    if (u16(e) === 0x0112) {
      const value = u16(e + 8); // type SHORT, count 1: the value sits in the entry itself
      return value >= 1 && value <= 8 ? (value as ExifOrientation) : 1;
    }
  }
  return 1;
}

/** Filters that display the stored pixels upright (transpose=0…3: cclock_flip, clock, cclock, clock_flip). */
export function orientationFilters(o: ExifOrientation): string[] {
  return (
    {
      1: [],
      2: ["hflip"],
      3: ["hflip", "vflip"],
      4: ["vflip"],
      5: ["transpose=0"], // transpose: mirror across the main diagonal
      6: ["transpose=1"], // rotate 90° clockwise
      7: ["transpose=3"], // transverse: mirror across the anti-diagonal
      8: ["transpose=2"], // rotate 90° counter-clockwise
    } as const
  )[o].slice();
}

/** Orientations 5–8 swap width and height. */
export function swapsAxes(o: ExifOrientation): boolean {
  return o >= 5;
}
