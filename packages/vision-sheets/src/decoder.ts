/**
 * The VQ decoder a stage was encoded with, as @lwm/vqgan's model folder: codes → RGB frames.
 * Shards record the model by @lwm/vqgan's `modelFolderSha256` (`vqganSha256`), so a different
 * model is noticed and said, not silently used.
 */
import { modelFolderSha256, VqganModel } from "@lwm/vqgan";
import type { VisionClip } from "./clips.js";

export interface DecodedClip {
  clip: VisionClip;
  /** frames × size × size × 3 RGB. */
  rgb: Uint8Array;
  size: number;
}

export class ClipDecoder {
  private constructor(
    readonly model: VqganModel,
    /** Set when the model is not the one the shards name (decoding still works, the pictures may be wrong). */
    readonly note: string | null,
  ) {}

  /** Loads the model folder; `expectedSha256` is the shards' vqganSha256 (null: nothing to compare). */
  static async open(dir: string, expectedSha256: string | null): Promise<ClipDecoder> {
    const model = await VqganModel.load(dir);
    const actual = await modelFolderSha256(dir);
    const note =
      expectedSha256 !== null && expectedSha256 !== actual
        ? `the shards were encoded with VQ model ${expectedSha256.slice(0, 12)}…, decoding with ${dir} (${actual.slice(0, 12)}…)`
        : null;
    return new ClipDecoder(model, note);
  }

  /** Decodes a clip's frames; a code outside the model's codebook is an error naming the block. */
  async decode(clip: VisionClip, where: string): Promise<DecodedClip> {
    const size = this.model.settings.codebookSize;
    const bad = clip.codes.findIndex((c) => c >= size);
    if (bad >= 0) {
      throw new RangeError(
        `${where}: segment ${clip.segment} vision block ${clip.block}: code ${clip.codes[bad]} (frame ${Math.floor(bad / (clip.codes.length / clip.frames))}) is outside the VQ model's codebook of ${size} (${this.model.dir}); was the stage encoded with another model?`,
      );
    }
    const { rgb, size: side } = await this.model.decode(clip.codes, clip.frames);
    return { clip, rgb, size: side };
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
