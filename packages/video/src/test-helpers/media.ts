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

/** Frame times of `file` after `filter` (ffprobe over a lavfi movie source). */
export async function ffprobeFilteredTimes(file: string, filter: string): Promise<number[]> {
  const graph = `movie=${file.replace(/[\\:',]/g, (c) => `\\${c}`)},${filter}`;
  const { stdout } = await run(ffmpegBinaries().ffprobe, ["-v", "error", "-f", "lavfi", "-i", graph, "-show_entries", "frame=pts_time", "-of", "csv=p=0"]);
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
