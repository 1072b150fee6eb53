/**
 * Media → codes, in batches across clips: frames from one clip after another (each clip one ffmpeg
 * process, decoding ahead while onnxruntime runs) fill batches of `batch` frames, so a batch may hold
 * the end of one clip and the start of the next. Each frame is copied into the batch as it arrives,
 * so the decoder recycles its few frame buffers (`reuseFrames`).
 */
import { decodeFrames, type DecodeOptions, type Sampling } from "@lwm/video";
import type { VqganModel } from "./model.js";

export interface EncodedClip {
  file: string;
  /** [frames, codesPerFrame] row-major. */
  codes: Uint16Array;
  frames: { ordinal: number; sourceIndex: number; ptsS: number }[];
}

export interface EncodeOptions {
  sampling?: Sampling;
  window?: DecodeOptions["window"];
  maxFrames?: number;
  /** Frames per onnxruntime run (default 8). */
  batch?: number;
  onBatch?: (info: { frames: number; seconds: number }) => void;
}

export async function encodeMedia(model: VqganModel, files: readonly string[], opts: EncodeOptions = {}): Promise<EncodedClip[]> {
  const size = model.settings.frameSize;
  const frameBytes = size * size * 3;
  const perFrame = model.gridSide() ** 2;
  const batchSize = opts.batch ?? 8;
  const clips: { file: string; frames: EncodedClip["frames"]; codes: Uint16Array[] }[] = [];
  const input = new Uint8Array(batchSize * frameBytes);
  /** The clip of each frame in `input`. */
  let pending: number[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const t0 = performance.now();
    const codes = await model.encode(input.subarray(0, pending.length * frameBytes), pending.length, size);
    pending.forEach((clip, k) => clips[clip]!.codes.push(codes.slice(k * perFrame, (k + 1) * perFrame)));
    opts.onBatch?.({ frames: pending.length, seconds: (performance.now() - t0) / 1000 });
    pending = [];
  };

  for (const file of files) {
    const clip = clips.push({ file, frames: [], codes: [] }) - 1;
    for await (const f of decodeFrames(file, { sampling: opts.sampling, window: opts.window, maxFrames: opts.maxFrames, size, reuseFrames: true })) {
      clips[clip]!.frames.push({ ordinal: f.ordinal, sourceIndex: f.sourceIndex, ptsS: f.ptsS });
      input.set(f.rgb, pending.length * frameBytes);
      pending.push(clip);
      if (pending.length === batchSize) await flush();
    }
  }
  await flush();
  return clips.map((c) => {
    const codes = new Uint16Array(c.codes.length * perFrame);
    c.codes.forEach((row, k) => codes.set(row, k * perFrame));
    return { file: c.file, codes, frames: c.frames };
  });
}
