/**
 * How many frames of a stream fall in a clip window, for index sampling inside the window: ffprobe
 * reads only the packets around the window (-read_intervals seeks) and we count the presentation
 * times in [startS, endS).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ffmpegBinaries } from "./binaries.js";

const run = promisify(execFile);

export async function countFramesInWindow(file: string, streamIndex: number, startS: number, endS?: number): Promise<number> {
  const interval = `${startS}%${endS !== undefined ? endS + 1 : ""}`;
  const args = ["-v", "error", "-select_streams", String(streamIndex), "-read_intervals", interval, "-show_entries", "packet=pts_time", "-of", "csv=p=0", file];
  const { stdout } = await run(ffmpegBinaries().ffprobe, args, { maxBuffer: 256 << 20 });
  let n = 0;
  for (const line of stdout.split("\n")) {
    const t = Number(line.split(",")[0]);
    if (line && Number.isFinite(t) && t >= startS && (endS === undefined || t < endS)) n++;
  }
  return n;
}
