/**
 * VQ codes of decoded frames, kept across runs under work/vision/cache/codes/. An entry is the
 * frames one decode plan yields, each with its presentation time, keyed by (media sha256, VQ model
 * sha256, ffmpeg version, filter chain): the frame cap is not in the key, so a stage that wants
 * fewer frames (another seqLen, frame cap or task) reads a prefix, and one that wants more decodes
 * again and re-encodes only the frames the entry does not hold. A changed model or ffmpeg build
 * is a new key: everything re-encodes.
 *
 * File: u32 LE header length, the JSON header, then frames × codesPerFrame u16 LE codes.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hashParts, writeFileAtomic } from "@lwm/core";
import { z } from "zod";

export const CachedFrame = z.object({ ptsS: z.number(), sourceIndex: z.number().int().nullable() });
export type CachedFrame = z.infer<typeof CachedFrame>;

const Header = z.object({
  format: z.literal("lwm-vision-codes/1"),
  codesPerFrame: z.number().int().positive(),
  frames: z.array(CachedFrame),
  /** The decode reached the clip's end: no more frames exist under this plan. */
  complete: z.boolean(),
});

export interface CodesEntry {
  codesPerFrame: number;
  frames: CachedFrame[];
  codes: Uint16Array;
  complete: boolean;
}

export interface CodesKeyParts {
  mediaSha256: string;
  modelSha256: string;
  ffmpegVersion: string;
  /** The decode's arguments and filters without the frame cap and thread count. */
  filterChain: string;
}

export function codesKey(p: CodesKeyParts): string {
  return hashParts(["lwm-vision-codes/1", p.mediaSha256, p.modelSha256, p.ffmpegVersion, p.filterChain]);
}

export class CodesCache {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.codes`);
  }

  async get(key: string): Promise<CodesEntry | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path(key));
    } catch {
      return undefined;
    }
    try {
      const headerLength = bytes.readUInt32LE(0);
      const header = Header.parse(JSON.parse(bytes.toString("utf8", 4, 4 + headerLength)));
      const body = bytes.subarray(4 + headerLength);
      if (body.length !== header.frames.length * header.codesPerFrame * 2) return undefined;
      const codes = new Uint16Array(header.frames.length * header.codesPerFrame);
      for (let k = 0; k < codes.length; k++) codes[k] = body.readUInt16LE(2 * k);
      return { codesPerFrame: header.codesPerFrame, frames: header.frames, codes, complete: header.complete };
    } catch {
      // A damaged entry is a miss; the next put replaces it.
      return undefined;
    }
  }

  async put(key: string, entry: CodesEntry): Promise<void> {
    const header = Buffer.from(
      JSON.stringify({ format: "lwm-vision-codes/1", codesPerFrame: entry.codesPerFrame, frames: entry.frames, complete: entry.complete }),
    );
    const out = Buffer.alloc(4 + header.length + entry.codes.length * 2);
    out.writeUInt32LE(header.length, 0);
    header.copy(out, 4);
    for (let k = 0; k < entry.codes.length; k++) out.writeUInt16LE(entry.codes[k] as number, 4 + header.length + 2 * k);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    await writeFileAtomic(this.path(key), out);
  }
}
