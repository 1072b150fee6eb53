/**
 * Frames of one clip from one ffmpeg process: sampling, window, LWM preprocessing and a frame
 * cap become one filter chain; ffmpeg writes raw rgb24 frames to a pipe and logs each frame's
 * presentation time (showinfo) on stderr. Frames are yielded as they arrive, so memory is bounded
 * by the pipe, whatever the clip's length. fluent-ffmpeg builds and runs the command; it stays
 * behind this module (it is archived upstream).
 */
import { spawnSync } from "node:child_process";
import ffmpeg from "fluent-ffmpeg";
import { ffmpegBinaries } from "./binaries.js";
import { DecodeFailedError } from "./errors.js";
import { orientationFilters, type ExifOrientation } from "./exif.js";
import { FrameSink } from "./frame-sink.js";
import { preprocessFilters, scaleCropFor } from "./preprocess.js";
import { probeMedia, type MediaProbe, type ProbeCache } from "./probe.js";
import { fpsFilter, linspaceIndices, linspaceSelectExpression, type Sampling } from "./sampling.js";
import { countFramesInWindow } from "./window.js";

export interface Frame {
  /** Position in this clip's output (0, 1, …). */
  ordinal: number;
  /** Index of the frame in the decoded stream (or window) for index sampling; null for fps sampling. */
  sourceIndex: number | null;
  /** Presentation time in seconds, on the file's own timeline. */
  ptsS: number;
  /** size × size × 3 bytes, RGB, row-major; a view that may share its ArrayBuffer with neighbouring frames. */
  rgb: Uint8Array;
}

export interface DecodeOptions {
  sampling?: Sampling;
  /** Seconds [startS, endS) of the file's timeline; the input is seeked, not decoded from the start. */
  window?: { startS: number; endS?: number };
  /** At most this many frames. */
  maxFrames?: number;
  /** Output side (default 256, LWM's). */
  size?: number;
  /** ffmpeg decoder threads (default: ffmpeg's choice). */
  threads?: number;
  probeCache?: ProbeCache;
}

export interface DecodePlan {
  probe: MediaProbe;
  args: { input: string[]; filters: string[]; output: string[] };
  /** Frames the plan will produce when known in advance (index sampling, images). */
  expectedFrames: number | null;
  /** For index sampling: the stream indices kept, in order. */
  indices: number[] | null;
}

/** The ffmpeg arguments for a clip: what `decodeFrames` runs and benchmarks compare with. */
export async function planDecode(file: string, opts: DecodeOptions = {}): Promise<DecodePlan> {
  const probe = await probeMedia(file, opts.probeCache);
  const size = opts.size ?? 256;
  const input: string[] = [];
  const filters: string[] = [];
  const output: string[] = ["-map", `0:${probe.streamIndex}`, "-an", "-sn", "-vsync", "passthrough"];
  if (opts.threads) input.push("-threads", String(opts.threads));
  let expected: number | null = null;
  let indices: number[] | null = null;
  if (probe.kind === "image") {
    output.push("-frames:v", "1");
    if (probe.exifOrientation !== 1) {
      // Applied here, and never twice: a newer ffmpeg that autorotates by EXIF is told not to.
      input.push("-noautorotate");
      filters.push(...orientationFilters(probe.exifOrientation as ExifOrientation));
    }
    expected = 1;
  } else {
    // Timestamps stay on the file's timeline (-copyts), so a window's frames report their real times.
    input.push("-copyts");
    let n = probe.frameCount;
    if (opts.window) {
      const { startS, endS } = opts.window;
      input.push("-ss", String(startS));
      if (endS !== undefined) input.push("-t", String(endS - startS + 1));
      filters.push(`trim=start=${startS}${endS !== undefined ? `:end=${endS}` : ""}`);
      if (opts.sampling && "frames" in opts.sampling) n = await countFramesInWindow(file, probe.streamIndex, startS, endS);
    }
    const sampling = opts.sampling ?? { all: true };
    if ("fps" in sampling) filters.push(fpsFilter(sampling.fps));
    else if ("frames" in sampling) {
      if (!(Number.isInteger(sampling.frames) && sampling.frames > 0)) throw new RangeError(`frames must be a positive integer, got ${sampling.frames}`);
      indices = linspaceIndices(n, sampling.frames);
      expected = indices.length;
      if (n > sampling.frames) filters.push(`select='${linspaceSelectExpression(n, sampling.frames)}'`);
    }
    if (opts.maxFrames !== undefined) {
      output.push("-frames:v", String(opts.maxFrames));
      if (expected !== null) expected = Math.min(expected, opts.maxFrames);
      if (indices) indices = indices.slice(0, opts.maxFrames);
    }
  }
  filters.push(...preprocessFilters(scaleCropFor(probe.width, probe.height, size)));
  output.push("-f", "rawvideo", "-pix_fmt", "rgb24");
  return { probe, args: { input, filters, output }, expectedFrames: expected, indices };
}

// showinfo prints pts_time with 6 significant digits; pts × the input time base is exact.
/**
 * showinfo without its per-frame checksums and plane statistics where ffmpeg has the option
 * (`checksum`, ffmpeg ≥ 5.0; the npm-shipped 2018 build lacks it).
 */
const showinfoByBinary = new Map<string, string>();
function showinfoFilter(ffmpegPath: string): string {
  let f = showinfoByBinary.get(ffmpegPath);
  if (!f) {
    const help = spawnSync(ffmpegPath, ["-hide_banner", "-h", "filter=showinfo"], { encoding: "utf8" }).stdout ?? "";
    f = /\bchecksum\b/.test(help) ? "showinfo=checksum=0" : "showinfo";
    showinfoByBinary.set(ffmpegPath, f);
  }
  return f;
}

const PTS = /Parsed_showinfo.*?\bn:\s*\d+\s+pts:\s*(-?\d+)\s+pts_time:\s*(\S+)/;
const TIME_BASE = /Parsed_showinfo.*?config in time_base:\s*(\d+)\/(\d+)/;

/**
 * Decodes `file` into preprocessed frames. Throws the probe's MediaErrors before any frame, and a
 * DecodeFailedError (with the time of the last good frame) when ffmpeg fails or stops short.
 */
export async function* decodeFrames(file: string, opts: DecodeOptions = {}): AsyncGenerator<Frame> {
  const plan = await planDecode(file, opts);
  const size = opts.size ?? 256;
  const frameBytes = size * size * 3;
  const times: number[] = [];
  let finished: { err: Error | null; stderr: string } | null = null;
  let finishWaiter: (() => void) | null = null;

  const { ffmpeg: ffmpegPath } = ffmpegBinaries();
  const sink = new FrameSink(frameBytes);
  let stopping = false;
  const stderrTail: string[] = [];
  let timeBase: [number, number] | null = null;
  const command = ffmpeg(file)
    .setFfmpegPath(ffmpegPath)
    .inputOptions([...plan.args.input, "-nostats"])
    .videoFilters([...plan.args.filters, showinfoFilter(ffmpegPath)])
    .outputOptions(plan.args.output)
    .on("stderr", (line: string) => {
      const m = PTS.exec(line);
      if (m) {
        times.push(timeBase ? (Number(m[1]) * timeBase[0]) / timeBase[1] : Number(m[2]));
        sink.wake();
        return;
      }
      const tb = TIME_BASE.exec(line);
      if (tb) timeBase = [Number(tb[1]), Number(tb[2])];
      else if (line.trim()) {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      }
    })
    .on("error", (err: Error) => {
      finished = { err: stopping ? null : err, stderr: stderrTail.join("\n") };
      sink.end();
      sink.wake();
      finishWaiter?.();
    })
    .on("end", () => {
      finished = { err: null, stderr: "" };
      sink.wake();
      finishWaiter?.();
    });
  command.pipe(sink, { end: true });

  let ordinal = 0;
  const lastPts = () => (ordinal > 0 ? (times[ordinal - 1] ?? 0) : (opts.window?.startS ?? 0));
  try {
    for (;;) {
      const rgb = sink.take();
      if (!rgb) {
        if (sink.ended) break;
        await sink.wait();
        continue;
      }
      // showinfo logs a frame before ffmpeg writes it, but the two pipes are read independently.
      while (times.length <= ordinal && !finished) await sink.wait();
      const ptsS = times[ordinal];
      if (ptsS === undefined) throw new DecodeFailedError(file, lastPts(), "frame without a timestamp in ffmpeg's log");
      yield { ordinal, sourceIndex: plan.indices?.[ordinal] ?? null, ptsS, rgb };
      ordinal++;
    }
    if (!finished) await new Promise<void>((r) => (finishWaiter = r));
    const done = finished as unknown as { err: Error | null; stderr: string };
    if (done.err) throw new DecodeFailedError(file, lastPts(), lastLine(done.err.message));
    if (sink.partialBytes > 0) throw new DecodeFailedError(file, lastPts(), `ffmpeg stopped inside a frame (${sink.partialBytes} of ${frameBytes} bytes)`);
    if (plan.expectedFrames !== null && ordinal < plan.expectedFrames) {
      throw new DecodeFailedError(file, lastPts(), `expected ${plan.expectedFrames} frames, ffmpeg produced ${ordinal}`);
    }
  } finally {
    if (!finished) {
      stopping = true;
      command.kill("SIGKILL");
    }
  }
}

function lastLine(message: string): string {
  const lines = message
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? message;
}

/** All frames of `file` at once (small clips, tests). */
export async function decodeAll(file: string, opts: DecodeOptions = {}): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(file, opts)) frames.push(f);
  return frames;
}
