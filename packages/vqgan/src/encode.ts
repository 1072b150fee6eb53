/**
 * Media → codes, in batches across clips: frames from one clip after another (each clip one ffmpeg
 * process, decoding ahead while onnxruntime runs) fill batches of `batch` frames, so a batch may hold
 * the end of one clip and the start of the next.
 */
import { decodeFrames, type DecodeOptions, type Sampling } from "@lwm/video";
import type { VqganModel } from "./model.js";

export interface EncodedClip {
  file: string;
  /** [frames, codesPerFrame] row-major. */
  codes: Uint16Array;
  frames: { ordinal: number; sourceIndex: number | null; ptsS: number }[];
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
  let pending: { clip: number; rgb: Uint8Array }[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const t0 = performance.now();
    const input = new Uint8Array(pending.length * frameBytes);
    pending.forEach((p, k) => input.set(p.rgb, k * frameBytes));
    const codes = await model.encode(input, pending.length, size);
    pending.forEach((p, k) => clips[p.clip]!.codes.push(codes.slice(k * perFrame, (k + 1) * perFrame)));
    opts.onBatch?.({ frames: pending.length, seconds: (performance.now() - t0) / 1000 });
    pending = [];
  };

  for (const file of files) {
    const clip = clips.push({ file, frames: [], codes: [] }) - 1;
    for await (const f of decodeFrames(file, { sampling: opts.sampling, window: opts.window, maxFrames: opts.maxFrames, size })) {
      clips[clip]!.frames.push({ ordinal: f.ordinal, sourceIndex: f.sourceIndex, ptsS: f.ptsS });
      pending.push({ clip, rgb: f.rgb });
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
