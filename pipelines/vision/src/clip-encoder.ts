/**
 * Clips → VQ codes for the whole step: one VQ model, one codes cache, and two lanes sharing the
 * thread budget. The decode lane runs ffmpeg (single-threaded each, `decodeLanes` at once); the
 * encode lane runs onnxruntime with the remaining threads, one batch at a time. Units ask for
 * clip k+1 before they wait on clip k, so while onnxruntime encodes one clip, ffmpeg already
 * decodes the next: both kinds of work run, neither oversubscribes the cores.
 */
import { spawnSync } from "node:child_process";
import pLimit, { type LimitFunction } from "p-limit";
import { stableStringify, type JsonValue } from "@lwm/core";
import { decodeAll, ffmpegBinaries, planDecode, type ProbeCache, type Sampling } from "@lwm/video";
import { VqganModel } from "@lwm/vqgan";
import { codesKey, CodesCache, type CachedFrame } from "./codes-cache.js";

export interface ClipRequest {
  file: string;
  mediaSha256: string;
  sampling: Sampling;
  window?: { startS: number; endS?: number };
  maxFrames: number;
}

export interface ClipCodes {
  frames: CachedFrame[];
  /** frames × codesPerFrame. */
  codes: Uint16Array;
  /** Frames this call encoded (0 when the cache held them all). */
  encoded: number;
}

export interface ThreadSplit {
  decodeLanes: number;
  onnxThreads: number;
}

/** Half the budget to ffmpeg processes (one thread each), the rest to onnxruntime; at least one each. */
export function splitThreads(threads: number): ThreadSplit {
  const decodeLanes = Math.max(1, Math.floor(threads / 2));
  return { decodeLanes, onnxThreads: Math.max(1, threads - decodeLanes) };
}

/** ffmpeg's own version line (e.g. "ffmpeg version 5.1.6-0+deb12u1 …"): another build may round pixels differently. */
export function ffmpegVersion(): string {
  const { ffmpeg } = ffmpegBinaries();
  const out = spawnSync(ffmpeg, ["-hide_banner", "-version"], { encoding: "utf8" });
  const first = (out.stdout ?? "").split("\n")[0]?.trim();
  if (!first) throw new Error(`${ffmpeg} -version printed nothing`);
  return first;
}

export class ClipEncoder {
  readonly cache: CodesCache;
  private readonly decodeLane: LimitFunction;
  private readonly encodeLane: LimitFunction = pLimit(1);
  /** This process's work: clips served by the cache or decoded, frames encoded, seconds in ffmpeg and onnxruntime. */
  readonly stats = { clipsFromCache: 0, clipsDecoded: 0, framesEncoded: 0, decodeSeconds: 0, encodeSeconds: 0 };

  private constructor(
    readonly model: VqganModel,
    readonly modelSha256: string,
    readonly ffmpegVersion: string,
    readonly split: ThreadSplit,
    private readonly batch: number,
    private readonly probeCache: ProbeCache,
    cacheDir: string,
  ) {
    this.cache = new CodesCache(cacheDir);
    this.decodeLane = pLimit(split.decodeLanes);
  }

  static async open(o: {
    modelDir: string;
    modelSha256: string;
    threads: number;
    batch: number;
    cacheDir: string;
    probeCache: ProbeCache;
  }): Promise<ClipEncoder> {
    const split = splitThreads(o.threads);
    const model = await VqganModel.load(o.modelDir, { threads: split.onnxThreads });
    return new ClipEncoder(model, o.modelSha256, ffmpegVersion(), split, o.batch, o.probeCache, o.cacheDir);
  }

  get codesPerFrame(): number {
    return this.model.gridSide() ** 2;
  }

  /** The first `maxFrames` frames of the clip's plan and their codes, from the cache where it has them. */
  async encode(req: ClipRequest): Promise<ClipCodes> {
    const perFrame = this.codesPerFrame;
    const size = this.model.settings.frameSize;
    const plan = await planDecode(req.file, { sampling: req.sampling, window: req.window, size, probeCache: this.probeCache });
    const key = codesKey({
      mediaSha256: req.mediaSha256,
      modelSha256: this.modelSha256,
      ffmpegVersion: this.ffmpegVersion,
      filterChain: stableStringify(plan.args as unknown as JsonValue),
    });
    const cached = await this.cache.get(key);
    if (cached && cached.codesPerFrame === perFrame && (cached.frames.length >= req.maxFrames || cached.complete)) {
      this.stats.clipsFromCache += 1;
      const n = Math.min(req.maxFrames, cached.frames.length);
      return { frames: cached.frames.slice(0, n), codes: cached.codes.slice(0, n * perFrame), encoded: 0 };
    }
    this.stats.clipsDecoded += 1;
    const decoded = await this.decodeLane(async () => {
      const t0 = performance.now();
      try {
        return await decodeAll(req.file, {
          sampling: req.sampling,
          window: req.window,
          maxFrames: req.maxFrames,
          size,
          threads: 1,
          probeCache: this.probeCache,
        });
      } finally {
        this.stats.decodeSeconds += (performance.now() - t0) / 1000;
      }
    });
    // The plan's frames are the same whatever the cap: the cached prefix needs no second encode.
    const have = cached && cached.codesPerFrame === perFrame ? Math.min(cached.frames.length, decoded.length) : 0;
    const codes = new Uint16Array(decoded.length * perFrame);
    if (have > 0 && cached) codes.set(cached.codes.subarray(0, have * perFrame));
    const frameBytes = size * size * 3;
    for (let at = have; at < decoded.length; at += this.batch) {
      const group = decoded.slice(at, at + this.batch);
      const input = new Uint8Array(group.length * frameBytes);
      group.forEach((f, k) => input.set(f.rgb, k * frameBytes));
      const out = await this.encodeLane(async () => {
        const t0 = performance.now();
        try {
          return await this.model.encode(input, group.length, size);
        } finally {
          this.stats.encodeSeconds += (performance.now() - t0) / 1000;
        }
      });
      codes.set(out, at * perFrame);
    }
    this.stats.framesEncoded += decoded.length - have;
    const frames = decoded.map((f) => ({ ptsS: f.ptsS, sourceIndex: f.sourceIndex }));
    const complete = decoded.length < req.maxFrames || (plan.expectedFrames !== null && decoded.length >= plan.expectedFrames);
    await this.cache.put(key, { codesPerFrame: perFrame, frames, codes, complete });
    return { frames, codes, encoded: decoded.length - have };
  }

  async close(): Promise<void> {
    await this.model.release();
  }
}
