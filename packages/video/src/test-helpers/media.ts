/** Clips and images that ffmpeg makes for the tests (lavfi testsrc: known frame counts and times). */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ffmpegBinaries } from "../binaries.js";

const run = promisify(execFile);

export async function ffmpegRun(args: string[]): Promise<Buffer> {
  const { stdout } = await run(ffmpegBinaries().ffmpeg, ["-v", "error", "-y", ...args], { encoding: "buffer", maxBuffer: 512 << 20 });
  return stdout;
}

export async function ffprobeFrameTimes(file: string): Promise<number[]> {
  const { stdout } = await run(ffmpegBinaries().ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => Number(l.split(",")[0]));
}

export const testsrc = (w: number, h: number, rate: number, seconds: number) => [
  "-f",
  "lavfi",
  "-i",
  `testsrc=size=${w}x${h}:rate=${rate}:duration=${seconds}`,
];

/** `jpeg` with an EXIF APP1 segment (big-endian TIFF, IFD0 holding only Orientation) right after SOI. */
export function withExifOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write("MM\0*", 0, "latin1");
  tiff.writeUInt32BE(8, 4); // IFD0 offset
  tiff.writeUInt16BE(1, 8); // one entry
  tiff.writeUInt16BE(0x0112, 10); // Orientation
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14); // count
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22); // no next IFD
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, 0]), Buffer.from("Exif\0\0", "latin1"), tiff]);
  app1.writeUInt16BE(app1.length - 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}
