/**
 * `lwm vqgan fit`: frames from media files and folders → a patch codebook (k-means) → a model
 * folder with the same encoder/decoder interface as a built VQModel (uint8 frames in, uint16 codes
 * out), plus its reconstruction PSNR and that of the mean-colour palette baseline of the same bit
 * budget.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "@lwm/core";
import { MediaError, decodeFrames } from "@lwm/video";
import type { ModelSettings } from "./config.js";
import { fitPatchCodebook } from "./kmeans.js";
import { writeModelDir } from "./model-dir.js";
import { CODEBOOK_FILE, FRAME, PATCH, PATCH_DIM, framesToPatches, patchDecoderGraph, patchEncoderGraph } from "./patch-model.js";
import { meanColourBaseline, psnr, reconstructFromCodes } from "./quality.js";

export interface FitOptions {
  codes: number;
  /** Frames per second sampled from videos (LWM's 8K stage uses 4; 1 is plenty for a codebook). */
  fps: number;
  maxFramesPerClip: number;
  iterations: number;
  seed: number;
  threads: number;
  log?: (line: string) => void;
}

export const FIT_DEFAULTS: FitOptions = { codes: 4096, fps: 1, maxFramesPerClip: 30, iterations: 15, seed: 0, threads: 2 };

/** Files under the given paths (folders walked in name order). */
async function listInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p);
    if (st.isDirectory()) {
      const names = (await readdir(p)).sort();
      out.push(...(await listInputs(names.map((n) => join(p, n)))));
    } else out.push(p);
  }
  return out;
}

export interface FrameSet {
  frames: Uint8Array;
  count: number;
  sources: { file: string; frames: number }[];
  skipped: { file: string; reason: string }[];
}

export async function collectFrames(paths: readonly string[], opts: Pick<FitOptions, "fps" | "maxFramesPerClip" | "log">): Promise<FrameSet> {
  const chunks: Uint8Array[] = [];
  const sources: FrameSet["sources"] = [];
  const skipped: FrameSet["skipped"] = [];
  for (const file of await listInputs(paths)) {
    let n = 0;
    try {
      for await (const f of decodeFrames(file, { sampling: { fps: opts.fps }, maxFrames: opts.maxFramesPerClip, size: FRAME })) {
        chunks.push(f.rgb);
        n++;
      }
      sources.push({ file, frames: n });
      opts.log?.(`fit: ${file}: ${n} frames`);
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      skipped.push({ file, reason: err.message });
      opts.log?.(`fit: skipped ${err.message}`);
    }
  }
  const frames = new Uint8Array(chunks.length * FRAME * FRAME * 3);
  chunks.forEach((c, k) => frames.set(c, k * c.length));
  return { frames, count: chunks.length, sources, skipped };
}

export interface FitReport {
  settings: ModelSettings;
  frames: number;
  patches: number;
  codebookEntries: number;
  iterations: number;
  psnrDb: number;
  baselinePsnrDb: number;
  skipped: FrameSet["skipped"];
  seconds: number;
}

export async function fitPatchModel(paths: readonly string[], outDir: string, options: Partial<FitOptions> = {}): Promise<FitReport> {
  const opts = { ...FIT_DEFAULTS, ...options };
  const t0 = performance.now();
  const set = await collectFrames(paths, opts);
  if (set.count === 0) throw new Error(`fit: no frames in ${paths.join(", ")}`);
  const patches = framesToPatches(set.frames, set.count);
  opts.log?.(`fit: ${set.count} frames, ${patches.length / PATCH_DIM} patches; k-means with ${opts.codes} codes, ${opts.threads} threads`);
  const fit = await fitPatchCodebook(patches, {
    codes: opts.codes,
    iterations: opts.iterations,
    seed: opts.seed,
    threads: opts.threads,
    onIteration: ({ iteration, iterations, changed, seconds }) =>
      opts.log?.(
        `fit: k-means iteration ${iteration}/${iterations}: ${changed} patches changed code, ${seconds.toFixed(1)} s, ETA ≤ ${((iterations - iteration) * seconds).toFixed(0)} s`,
      ),
  });
  const k = fit.codebook.length / PATCH_DIM;
  const psnrDb = psnr(set.frames, reconstructFromCodes(fit.assignment, fit.codebook, set.count));
  const baselinePsnrDb = psnr(set.frames, meanColourBaseline(set.frames, set.count, k, opts.seed));
  const settings: ModelSettings = {
    format: "lwm-vqgan/1",
    kind: "patch-kmeans",
    pixelRange: "minus1to1",
    downsample: PATCH,
    frameSize: FRAME,
    codebookSize: k,
    weightsSha256: sha256Hex(fit.codebook),
    notes: {
      trainedOn: set.sources.map((s) => `${s.file} (${s.frames})`).join("; "),
      frames: set.count,
      fps: opts.fps,
      maxFramesPerClip: opts.maxFramesPerClip,
      seed: opts.seed,
      iterations: fit.iterations,
      psnrDb: Number(psnrDb.toFixed(3)),
      baselinePsnrDb: Number(baselinePsnrDb.toFixed(3)),
    },
  };
  await writeModelDir(outDir, settings, {
    encoder: patchEncoderGraph(k).toBytes(),
    decoder: patchDecoderGraph(k).toBytes(),
    extra: { [CODEBOOK_FILE]: fit.codebook },
  });
  return {
    settings,
    frames: set.count,
    patches: patches.length / PATCH_DIM,
    codebookEntries: k,
    iterations: fit.iterations,
    psnrDb,
    baselinePsnrDb,
    skipped: set.skipped,
    seconds: (performance.now() - t0) / 1000,
  };
}
