/** Decompression bombs for the tests and the hostile-run bench, made on the fly (never stored). */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { createGzip } from "node:zlib";

const MiB = 1024 * 1024;

/** A .gz of `total` bytes of "x" with no newline, written as a stream (nobody holds the whole). */
export async function writeGzipBomb(path: string, total: number, level = 1): Promise<void> {
  const gzip = createGzip({ level });
  const done = once(gzip.pipe(createWriteStream(path)), "finish");
  const block = Buffer.alloc(MiB, "x");
  for (let i = 0; i < total / MiB; i += 1) if (!gzip.write(block)) await once(gzip, "drain");
  gzip.end();
  await done;
}

/** A zstd frame of RLE blocks (4 bytes each → 128 KiB of "x"): `total` bytes from total/32768 bytes of file. */
export function zstdBomb(total: number, windowLog = 17): Uint8Array {
  const blocks = total / (128 * 1024);
  const out = new Uint8Array(6 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]);
  for (let b = 0; b < blocks; b += 1) {
    const header = (b === blocks - 1 ? 1 : 0) | (1 << 1) | ((128 * 1024) << 3);
    out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x78], 6 + b * 4);
  }
  return out;
}
