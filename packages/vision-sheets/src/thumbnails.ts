/** Decoded frames as small JPEGs (for pages that embed them as data: URIs). */
import sharp from "sharp";
import type { DecodedClip } from "./decoder.js";

export interface JpegThumbnail {
  jpeg: Uint8Array;
  width: number;
  height: number;
  seconds: number | null;
}

/** Frame `f` of a decoded clip, scaled to `side` pixels, as JPEG (quality 80). */
export async function jpegThumbnail(d: DecodedClip, f: number, side = 128): Promise<JpegThumbnail> {
  const bytes = d.size * d.size * 3;
  const jpeg = await sharp(Buffer.from(d.rgb.buffer, d.rgb.byteOffset + f * bytes, bytes), { raw: { width: d.size, height: d.size, channels: 3 } })
    .resize(side, side)
    .jpeg({ quality: 80 })
    .toBuffer();
  return { jpeg: new Uint8Array(jpeg), width: side, height: side, seconds: d.clip.timestamps[f] ?? null };
}
