/**
 * A model folder loaded into onnxruntime: frames in, codes out, and back. Both graphs take and
 * give uint8 RGB frames; the pixel range and the codebook search happen inside them.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { DECODER_FILE, ENCODER_FILE, type ModelSettings } from "./config.js";
import { readModelSettings } from "./model-dir.js";

export interface ModelOptions {
  /** onnxruntime intra-op threads (the run's thread budget); default 1. */
  threads?: number;
}

export class VqganModel {
  private constructor(
    readonly dir: string,
    readonly settings: ModelSettings,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  static async load(dir: string, opts: ModelOptions = {}): Promise<VqganModel> {
    const settings = await readModelSettings(dir);
    const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: opts.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: "all" };
    // Created from paths, so external data files (a shared codebook) resolve beside the models.
    const encoder = await ort.InferenceSession.create(join(dir, ENCODER_FILE), options);
    const decoder = await ort.InferenceSession.create(join(dir, DECODER_FILE), options);
    return new VqganModel(dir, settings, encoder, decoder);
  }

  /** Codes per frame side for a frame of `size` pixels. */
  gridSide(size = this.settings.frameSize): number {
    return size / this.settings.downsample;
  }

  /** `count` frames of size×size×3 bytes, packed → count × (size/downsample)² codes, raster order. */
  async encode(frames: Uint8Array, count: number, size = this.settings.frameSize): Promise<Uint16Array> {
    if (frames.length !== count * size * size * 3) throw new RangeError(`encode: ${frames.length} bytes for ${count} frames of ${size}×${size}×3`);
    const out = await this.encoder.run({ frames: new ort.Tensor("uint8", frames, [count, size, size, 3]) });
    return out.codes!.data as Uint16Array;
  }

  /** `count` × side² codes → count frames of RGB bytes (and the float pixels for vqmodel graphs). */
  async decode(codes: Uint16Array, count: number): Promise<{ rgb: Uint8Array; pixels: Float32Array | null; size: number }> {
    const side = Math.round(Math.sqrt(codes.length / count));
    if (side * side * count !== codes.length) throw new RangeError(`decode: ${codes.length} codes are not ${count} square grids`);
    const out = await this.decoder.run({ codes: new ort.Tensor("uint16", codes, [count, side, side]) });
    return { rgb: out.rgb!.data as Uint8Array, pixels: out.pixels ? (out.pixels.data as Float32Array) : null, size: side * this.settings.downsample };
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}
