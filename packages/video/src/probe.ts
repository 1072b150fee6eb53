/**
 * One ffprobe per media file (JSON, with a packet count), cached by the file's sha256: the same
 * bytes under another name are not probed again.
 */
import { execFile } from "node:child_process";
import { mkdir, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { sha256File, writeJsonAtomic } from "@lwm/core";
import { z } from "zod";
import { ffmpegBinaries } from "./binaries.js";
import { jpegOrientation, swapsAxes } from "./exif.js";
import { MediaNotFoundError, NoVideoStreamError, NotMediaError, TruncatedMediaError, ZeroDurationError } from "./errors.js";

const run = promisify(execFile);

/** What the sampler and decoder need to know about a file. */
export const MediaProbe = z.object({
  sha256: z.string(),
  kind: z.enum(["image", "video"]),
  /** ffprobe's container name (e.g. "mov,mp4,m4a,3gp,3g2,mj2", "png_pipe"). */
  format: z.string(),
  codec: z.string(),
  /** Stream index of the video stream ffmpeg decodes. */
  streamIndex: z.number().int().nonnegative(),
  /** Display size: after the rotation below is applied (ffmpeg autorotates). */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Degrees, from the display matrix or the legacy `rotate` tag; 0 when none. */
  rotation: z.number(),
  /** A JPEG's EXIF Orientation (1 = upright … 8); 1 for everything else. The decoder applies it. */
  exifOrientation: z.number().int().min(1).max(8),
  /** Seconds; 0 for images. */
  durationS: z.number().nonnegative(),
  startTimeS: z.number(),
  /** Frames in the stream: the header's frame count, or packets counted when the container has none. */
  frameCount: z.number().int().nonnegative(),
  frameCountSource: z.enum(["stream", "packets"]),
  /** Average frame rate (frames/s), 0 when unknown. */
  frameRate: z.number().nonnegative(),
});
export type MediaProbe = z.infer<typeof MediaProbe>;

const num = z.union([z.string(), z.number()]).transform(Number).optional();
const FfprobeStream = z.object({
  index: z.number(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  avg_frame_rate: z.string().optional(),
  r_frame_rate: z.string().optional(),
  duration: num,
  start_time: num,
  nb_frames: num,
  nb_read_packets: num,
  disposition: z.object({ attached_pic: z.number().optional() }).partial().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() }).passthrough()).optional(),
});
const FfprobeOutput = z.object({
  streams: z.array(FfprobeStream).default([]),
  format: z.object({ format_name: z.string(), duration: num, start_time: num }).optional(),
});
type FfprobeStream = z.infer<typeof FfprobeStream>;

const IMAGE_CODECS = new Set(["png", "mjpeg", "webp", "gif", "bmp", "tiff", "jpeg2000", "apng"]);

function rate(text: string | undefined): number {
  if (!text) return 0;
  const [n, d] = text.split("/").map(Number);
  return n !== undefined && d ? n / d : 0;
}

/** First bytes that say "a video container" (mp4/mov `ftyp`, Matroska/WebM EBML): a probe failure then means damage, not "not media". */
async function looksLikeVideoContainer(file: string): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    return head.toString("latin1", 4, 8) === "ftyp" || head.readUInt32BE(0) === 0x1a45dfa3;
  } finally {
    await fh.close();
  }
}

async function ffprobeJson(file: string): Promise<unknown> {
  const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-count_packets", file];
  try {
    const { stdout } = await run(ffmpegBinaries().ffprobe, args, { maxBuffer: 64 << 20 });
    return JSON.parse(stdout);
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
    const last = stderr.split("\n").pop() ?? "ffprobe failed";
    // By content: a text file named .mp4 also gets "moov atom not found" (ffprobe guesses mp4 from the name).
    if (await looksLikeVideoContainer(file)) throw new TruncatedMediaError(file, last);
    throw new NotMediaError(file, last.replace(`${file}: `, ""));
  }
}

function describe(file: string, sha256: string, json: unknown): MediaProbe {
  const parsed = FfprobeOutput.safeParse(json);
  if (!parsed.success) throw new NotMediaError(file, "ffprobe output not understood");
  const { streams, format } = parsed.data;
  if (!format) throw new NotMediaError(file, "no container format");
  const video = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  if (!video || !video.width || !video.height)
    throw new NoVideoStreamError(
      file,
      streams.map((s) => s.codec_type ?? "unknown"),
    );
  const isImage =
    format.format_name.endsWith("_pipe") ||
    format.format_name === "image2" ||
    format.format_name === "gif" ||
    (IMAGE_CODECS.has(video.codec_name ?? "") && (video.nb_read_packets ?? 0) <= 1);
  const rotation = rotationOf(video);
  const swap = Math.abs(rotation) % 180 === 90;
  const packets = video.nb_read_packets ?? 0;
  const header = video.nb_frames ?? 0;
  if (!isImage && header > 0 && packets < header)
    throw new TruncatedMediaError(file, `the header lists ${header} frames but only ${packets} packets are readable`);
  const probe: MediaProbe = {
    sha256,
    kind: isImage ? "image" : "video",
    format: format.format_name,
    codec: video.codec_name ?? "unknown",
    streamIndex: video.index,
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    rotation,
    exifOrientation: 1,
    durationS: isImage ? 0 : (video.duration ?? format.duration ?? 0),
    startTimeS: video.start_time ?? format.start_time ?? 0,
    frameCount: isImage ? 1 : header > 0 ? header : packets,
    frameCountSource: isImage || header > 0 ? "stream" : "packets",
    frameRate: rate(video.avg_frame_rate) || rate(video.r_frame_rate),
  };
  if (probe.kind === "video" && (probe.frameCount === 0 || !(probe.durationS > 0))) throw new ZeroDurationError(file);
  return probe;
}

function rotationOf(s: FfprobeStream): number {
  const fromSide = s.side_data_list?.find((d) => typeof d.rotation === "number")?.rotation;
  if (fromSide !== undefined) return fromSide;
  const tag = s.tags?.rotate;
  return tag ? Number(tag) || 0 : 0;
}

/** In-process cache by sha256; optionally also a folder of <sha256>.json files shared between runs. */
export class ProbeCache {
  private readonly memory = new Map<string, MediaProbe>();
  constructor(private readonly dir?: string) {}

  async get(sha256: string): Promise<MediaProbe | undefined> {
    const hit = this.memory.get(sha256);
    if (hit || !this.dir) return hit;
    try {
      const probe = MediaProbe.parse(JSON.parse(await readFile(join(this.dir, `${sha256}.json`), "utf8")));
      this.memory.set(sha256, probe);
      return probe;
    } catch {
      return undefined;
    }
  }

  async set(probe: MediaProbe): Promise<void> {
    this.memory.set(probe.sha256, probe);
    if (this.dir) {
      await mkdir(this.dir, { recursive: true });
      await writeJsonAtomic(join(this.dir, `${probe.sha256}.json`), probe);
    }
  }
}

const defaultCache = new ProbeCache();

/**
 * Probes `file` (or returns the cached probe of the same bytes). Throws a MediaError: not found,
 * not media (also for an empty file), no video stream, zero duration, truncated.
 */
export async function probeMedia(file: string, cache: ProbeCache = defaultCache): Promise<MediaProbe> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new NotMediaError(file, "not a regular file");
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new MediaNotFoundError(file);
    throw err;
  }
  if (size === 0) throw new NotMediaError(file, "empty file (0 bytes)");
  const sha256 = await sha256File(file);
  const hit = await cache.get(sha256);
  if (hit) return hit;
  const probe = describe(file, sha256, await ffprobeJson(file));
  if (probe.kind === "image" && probe.codec === "mjpeg") {
    const o = await jpegOrientation(file);
    probe.exifOrientation = o;
    if (swapsAxes(o)) [probe.width, probe.height] = [probe.height, probe.width];
  }
  await cache.set(probe);
  return probe;
}
