/**
 * Frames of one clip from one ffmpeg process: sampling, window, LWM preprocessing and a frame
 * cap become one filter chain; ffmpeg writes raw rgb24 frames to a pipe and logs each frame's
 * presentation time (showinfo) on stderr. Frames are yielded as they arrive, so memory is bounded
 * by the pipe, whatever the clip's length. The frames travel through a FIFO read straight into
 * frame buffers (fifo.ts), or ffmpeg's stdout where no FIFO can be made. fluent-ffmpeg builds and
 * runs the command; it stays behind this module (it is archived upstream).
 */
import { spawnSync } from "node:child_process";
import ffmpeg from "fluent-ffmpeg";
import { ffmpegBinaries } from "./binaries.js";
import { DecodeFailedError } from "./errors.js";
import { orientationFilters, type ExifOrientation } from "./exif.js";
import { fifoPool, FifoReader } from "./fifo.js";
import type { FrameQueue } from "./frame-queue.js";
import { FrameSink } from "./frame-sink.js";
import { preprocessFilters, scaleCropFor } from "./preprocess.js";
import { probeMedia, type MediaProbe, type ProbeCache } from "./probe.js";
import { fpsSelectExpression, linspaceIndices, linspaceSelectExpression, type Sampling } from "./sampling.js";
import { countFramesInWindow } from "./window.js";

export interface Frame {
  /** Position in this clip's output (0, 1, …). */
  ordinal: number;
  /** Index of the frame in the decoded stream (or in the window, when there is one); 0 for an image. */
  sourceIndex: number;
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
  /**
   * Reuse a few frame buffers: a frame's `rgb` is overwritten once the next frame is asked for.
   * For callers that copy each frame out at once (into a batch); saves fresh memory per frame.
   */
  reuseFrames?: boolean;
  /**
   * How frames leave ffmpeg: "fifo" (default; a named pipe read straight into the frame buffers)
   * or "stdout" (ffmpeg's stdout pipe through a Node stream, a copy per read). "fifo" falls back to
   * "stdout" where FIFOs cannot be made (Windows, no mkfifo).
   */
  transport?: FrameTransport;
  probeCache?: ProbeCache;
}

export type FrameTransport = "fifo" | "stdout";

export interface DecodePlan {
  probe: MediaProbe;
  args: { input: string[]; filters: string[]; output: string[] };
  /** Frames the plan will produce when known in advance (index sampling, images). */
  expectedFrames: number | null;
  /** For index sampling: the stream indices kept, in order. */
  indices: number[] | null;
  /**
   * For fps sampling: the position in `args.filters` of the sampling select. The kept frames'
   * stream indices are not known in advance, so `decodeFrames` logs every frame just before it.
   */
  selectAt: number | null;
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
  let selectAt: number | null = null;
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
    if ("fps" in sampling) {
      selectAt = filters.length;
      filters.push(`select='${fpsSelectExpression(sampling.fps)}'`);
    } else if ("frames" in sampling) {
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
  return { probe, args: { input, filters, output }, expectedFrames: expected, indices, selectAt };
}

/**
 * showinfo without its per-frame checksums and plane statistics where ffmpeg has the option
 * (`checksum`, ffmpeg ≥ 5.0; the npm-shipped 2018 build lacks it). Two named instances: `kept`
 * logs each output frame; `all` (fps sampling only) logs every frame before the sampling select.
 */
const checksumOption = new Map<string, boolean>();
function showinfoFilter(ffmpegPath: string, instance: ShowinfoInstance): string {
  let has = checksumOption.get(ffmpegPath);
  if (has === undefined) {
    const help = spawnSync(ffmpegPath, ["-hide_banner", "-h", "filter=showinfo"], { encoding: "utf8" }).stdout ?? "";
    has = /\bchecksum\b/.test(help);
    checksumOption.set(ffmpegPath, has);
  }
  return `showinfo@${instance}${has ? "=checksum=0" : ""}`;
}
type ShowinfoInstance = "all" | "kept";

// showinfo prints pts_time with 6 significant digits; pts × the input time base is exact.
const PTS = /\[showinfo@(all|kept) @[^\]]*\]\s*n:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(\S+)/;
const TIME_BASE = /\[showinfo@kept @[^\]]*\]\s*config in time_base:\s*(\d+)\/(\d+)/;

/**
 * The stream index of each kept frame under fps sampling: `all` logs (index, pts) of every frame,
 * `kept` the pts of each frame the select let through, in the same order; a kept frame is the
 * logged frame with its pts. Only frames since the last kept one are held, so memory stays bounded.
 */
class KeptIndices {
  private readonly pending: { n: number; pts: string }[] = [];
  readonly indices: number[] = [];
  all(n: number, pts: string): void {
    this.pending.push({ n, pts });
  }
  /** False when no logged frame has this pts (the two logs disagree). */
  kept(pts: string): boolean {
    const at = this.pending.findIndex((f) => f.pts === pts);
    if (at < 0) return false;
    this.indices.push(this.pending[at]!.n);
    this.pending.splice(0, at + 1);
    return true;
  }
}

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
  const reuse = opts.reuseFrames ?? false;
  const fifo = (opts.transport ?? "fifo") === "fifo" ? await fifoPool.acquire() : null;
  let reader: FifoReader | null = null;
  if (fifo) {
    try {
      reader = new FifoReader(fifo, frameBytes, 4, reuse);
    } catch {
      // The FIFO could not be opened (say, its temporary folder was cleaned away): use stdout.
      fifoPool.release(fifo, false);
    }
  }
  const sink = reader ? null : new FrameSink(frameBytes, 4, reuse);
  const frames: FrameQueue = reader?.frames ?? sink!.frames;
  let stopping = false;
  const stderrTail: string[] = [];
  let timeBase: [number, number] | null = null;
  const filters = [...plan.args.filters, showinfoFilter(ffmpegPath, "kept")];
  const kept = plan.selectAt === null ? null : new KeptIndices();
  if (plan.selectAt !== null) filters.splice(plan.selectAt, 0, showinfoFilter(ffmpegPath, "all"));
  let logMismatch: string | null = null;
  const command = ffmpeg(file)
    .setFfmpegPath(ffmpegPath)
    .inputOptions([...plan.args.input, "-nostats"])
    .videoFilters(filters)
    .outputOptions(plan.args.output)
    .on("stderr", (line: string) => {
      const m = PTS.exec(line);
      if (m) {
        const [, instance, n, pts, ptsTime] = m as unknown as [string, ShowinfoInstance, string, string, string];
        if (instance === "all") {
          kept?.all(Number(n), pts);
          return;
        }
        if (kept && !kept.kept(pts)) logMismatch ??= `kept frame at pts ${pts} is not among the decoded frames`;
        times.push(timeBase ? (Number(pts) * timeBase[0]) / timeBase[1] : Number(ptsTime));
        frames.wake();
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
      reader?.writerExited();
      sink?.end();
      frames.wake();
      finishWaiter?.();
    })
    .on("end", () => {
      finished = { err: null, stderr: "" };
      reader?.writerExited();
      frames.wake();
      finishWaiter?.();
    });
  if (reader) command.save(fifo!);
  else command.pipe(sink!, { end: true });

  let ordinal = 0;
  const lastPts = () => (ordinal > 0 ? (times[ordinal - 1] ?? 0) : (opts.window?.startS ?? 0));
  try {
    for (;;) {
      const rgb = frames.take();
      if (!rgb) {
        if (frames.ended) break;
        await frames.wait();
        continue;
      }
      // showinfo logs a frame before ffmpeg writes it, but the two pipes are read independently.
      while (times.length <= ordinal && !finished) await frames.wait();
      const ptsS = times[ordinal];
      if (ptsS === undefined) throw new DecodeFailedError(file, lastPts(), "frame without a timestamp in ffmpeg's log");
      if (logMismatch) throw new DecodeFailedError(file, lastPts(), logMismatch);
      const sourceIndex = kept ? kept.indices[ordinal] : plan.indices ? plan.indices[ordinal] : ordinal;
      if (sourceIndex === undefined) throw new DecodeFailedError(file, lastPts(), "frame without a stream index in ffmpeg's log");
      yield { ordinal, sourceIndex, ptsS, rgb };
      ordinal++;
    }
    if (!finished) await new Promise<void>((r) => (finishWaiter = r));
    const done = finished as unknown as { err: Error | null; stderr: string };
    if (done.err) throw new DecodeFailedError(file, lastPts(), lastLine(done.err.message));
    if (reader?.error) throw new DecodeFailedError(file, lastPts(), `reading ffmpeg's output: ${reader.error.message}`);
    if (frames.partialBytes > 0) throw new DecodeFailedError(file, lastPts(), `ffmpeg stopped inside a frame (${frames.partialBytes} of ${frameBytes} bytes)`);
    if (plan.expectedFrames !== null && ordinal < plan.expectedFrames) {
      throw new DecodeFailedError(file, lastPts(), `expected ${plan.expectedFrames} frames, ffmpeg produced ${ordinal}`);
    }
  } finally {
    if (!finished) {
      stopping = true;
      command.kill("SIGKILL");
    }
    if (reader) fifoPool.release(fifo!, reader.close() && finished !== null);
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
  if (opts.reuseFrames) throw new RangeError("decodeAll keeps every frame: reuseFrames would overwrite them");
  const frames: Frame[] = [];
  for await (const f of decodeFrames(file, opts)) frames.push(f);
  return frames;
}
