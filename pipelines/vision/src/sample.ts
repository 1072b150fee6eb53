/**
 * One corpus sample → one example per stage, or a reject with its reason. The checks run cheapest
 * first (row, caption, path, probe, size, window), so a bad sample costs no decode; the reason's
 * first words (up to ":") are the category the step report counts.
 */
import { MediaError, probeMedia, type MediaProbe, type ProbeCache, type Sampling } from "@lwm/video";
import type { Stage, StageFrames, VisionSource, VisionTask } from "@lwm/schemas";
import type { ClipEncoder } from "./clip-encoder.js";
import type { CorpusSample } from "./corpus.js";
import { framesThatFit, layOutExample, type LaidOutExample } from "./layout.js";
import { drawTask } from "./tasks.js";

/** Reject categories (the reason's text before its first ":"). */
export const REJECT = {
  unreadable: "unreadable row",
  caption: "caption missing or empty",
  missing: "missing path",
  notMedia: "not media",
  noVideo: "no video stream",
  zeroDuration: "zero duration",
  decode: "truncated or decode failure",
  window: "clip window outside the media",
  small: "smaller than minSide",
  seqLen: "does not fit seqLen",
} as const;

const MEDIA_REJECT: Record<MediaError["kind"], string> = {
  "not-found": REJECT.missing,
  "not-media": REJECT.notMedia,
  "no-video-stream": REJECT.noVideo,
  "zero-duration": REJECT.zeroDuration,
  truncated: REJECT.decode,
  "decode-failed": REJECT.decode,
};

export class SampleRejected extends Error {
  constructor(
    readonly category: string,
    detail: string,
  ) {
    super(`${category}: ${detail}`);
  }
}

export interface StageExample {
  stage: string;
  task: VisionTask;
  example: LaidOutExample;
  frames: { ptsS: number; sourceIndex: number | null }[];
}

export interface EncodedSample {
  probe: MediaProbe;
  caption: string;
  window: { startS: number; endS?: number } | undefined;
  task: VisionTask;
  examples: StageExample[];
  /** Stages the sample could not join, each with its reason (the sample still counts as encoded elsewhere). */
  stageRejects: { stage: string; reason: string }[];
}

export interface SampleContext {
  source: VisionSource;
  stages: readonly { stage: Stage; frames: StageFrames }[];
  encoder: ClipEncoder;
  probeCache: ProbeCache;
  encodeText(text: string): Promise<Uint32Array>;
  layout: { bosId: number; eosId: number; eofId: number; eovId: number; tokensPerFrame: number; open: Uint32Array; close: Uint32Array; visionCodes: number };
}

function seconds(v: unknown, column: string): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(String(v).trim());
  if (!Number.isFinite(n) || n < 0) throw new SampleRejected(REJECT.window, `${column} ${JSON.stringify(v)} is not a number of seconds ≥ 0`);
  return n;
}

function windowOf(sample: CorpusSample, source: VisionSource, probe: MediaProbe): { startS: number; endS?: number } | undefined {
  const start = seconds(sample.start, `column "${source.columns.start}"`);
  const end = seconds(sample.end, `column "${source.columns.end}"`);
  if (start === undefined && end === undefined) return undefined;
  const startS = start ?? 0;
  if (probe.kind === "image") throw new SampleRejected(REJECT.window, `a clip window [${startS}, ${end ?? "end"}) on a still image`);
  const mediaEnd = probe.startTimeS + probe.durationS;
  if (end !== undefined && end <= startS) throw new SampleRejected(REJECT.window, `end ${end} s is not after start ${startS} s`);
  if (startS >= mediaEnd) throw new SampleRejected(REJECT.window, `start ${startS} s is at or past the end of the media (${mediaEnd.toFixed(3)} s)`);
  // A millisecond of slack: corpora round clip ends to the container's duration.
  if (end !== undefined && end > mediaEnd + 1e-3)
    throw new SampleRejected(REJECT.window, `end ${end} s is past the end of the media (${mediaEnd.toFixed(3)} s)`);
  return end === undefined ? { startS } : { startS, endS: end };
}

function samplingOf(frames: StageFrames): Sampling {
  return frames.fps !== undefined ? { fps: frames.fps } : { frames: frames.frames as number };
}

/** Encodes one sample for every stage; throws SampleRejected when it can serve none. */
export async function encodeSample(sample: CorpusSample, ctx: SampleContext): Promise<EncodedSample> {
  const { source, encoder, layout } = ctx;
  if (sample.unreadable) throw new SampleRejected(REJECT.unreadable, sample.unreadable);
  const caption = typeof sample.caption === "string" ? sample.caption.trim() : typeof sample.caption === "number" ? String(sample.caption) : "";
  if (caption === "")
    throw new SampleRejected(
      REJECT.caption,
      `column "${source.columns.caption}" is ${sample.caption === undefined ? "absent" : JSON.stringify(sample.caption)}`,
    );
  if (sample.mediaPath === null) throw new SampleRejected(REJECT.missing, `column "${source.columns.media}" is absent or empty`);
  let probe: MediaProbe;
  try {
    probe = await probeMedia(sample.mediaPath, ctx.probeCache);
  } catch (err) {
    if (err instanceof MediaError) throw new SampleRejected(MEDIA_REJECT[err.kind], err.message);
    throw err;
  }
  const side = Math.min(probe.width, probe.height);
  if (side < source.minSide) throw new SampleRejected(REJECT.small, `${probe.width}×${probe.height}, shorter side ${side} px < ${source.minSide} px`);
  const window = windowOf(sample, source, probe);
  const task = drawTask(source, sample.row);
  const captionIds = await ctx.encodeText(caption);

  const stageRejects: EncodedSample["stageRejects"] = [];
  const examples: StageExample[] = [];
  for (const { stage, frames } of ctx.stages) {
    const fit = framesThatFit(stage.seqLen, captionIds.length, layout);
    if (fit < 1) {
      stageRejects.push({
        stage: stage.name,
        reason: `${REJECT.seqLen}: ${captionIds.length} caption tokens leave no room for a 257-token frame in seqLen ${stage.seqLen} (stage ${stage.name})`,
      });
      continue;
    }
    // An image-text source takes one frame of anything; a still image is a one-frame video.
    const oneFrame = source.kind === "image-text" || probe.kind === "image";
    const maxFrames = oneFrame ? 1 : Math.min(frames.maxFrames, fit);
    let clip;
    try {
      clip = await encoder.encode({
        file: sample.mediaPath,
        mediaSha256: probe.sha256,
        sampling: oneFrame ? { frames: 1 } : samplingOf(frames),
        window,
        maxFrames,
      });
    } catch (err) {
      if (err instanceof MediaError) throw new SampleRejected(MEDIA_REJECT[err.kind], err.message);
      throw err;
    }
    if (clip.frames.length === 0)
      throw new SampleRejected(REJECT.window, `no frame in the window [${window?.startS ?? 0}, ${window?.endS ?? "end"}) s of ${sample.media}`);
    for (const c of clip.codes)
      if (c >= layout.visionCodes) throw new Error(`${sample.media}: code ${c} is outside the vision table's ${layout.visionCodes} codes`);
    examples.push({
      stage: stage.name,
      task,
      frames: clip.frames,
      example: layOutExample(task, { ...layout, caption: captionIds, codes: clip.codes }),
    });
  }
  // A sample no stage could take is a reject, not an encoded sample without examples.
  if (examples.length === 0 && stageRejects.length > 0)
    throw new SampleRejected(REJECT.seqLen, stageRejects.map((r) => r.reason.slice(REJECT.seqLen.length + 2)).join("; "));
  return { probe, caption, window, task, examples, stageRejects };
}
