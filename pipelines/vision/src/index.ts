/**
 * @lwm/vision-step: the `vision` step (video/image-text corpora → LWM vision-text examples).
 *   corpus.ts        JSONL / CSV / Parquet rows or a media folder → samples (column mapping)
 *   sample.ts        one sample → probe, checks, codes, one example per stage, or a reject with its reason
 *   clip-encoder.ts  decode and encode lanes sharing the thread budget, over the codes cache
 *   codes-cache.ts   codes per (media, model, ffmpeg, filter chain), frame cap outside the key
 *   layout.ts        the exact LWM token layout and flags per task
 *   tasks.ts         the per-sample task draw by the source's shares
 *   step.ts          units, resume, finalize (work/vision/examples/<stage>/)
 */
export { visionStep, VISION_STEP_NAME, VISION_STEP_VERSION, FRAMES_RULE } from "./step.js";
export { layOutExample, framesThatFit, exampleLength, isToText, type ExampleParts, type LaidOutExample } from "./layout.js";
export { ClipEncoder, splitThreads, ffmpegVersion, type ClipRequest, type ClipCodes } from "./clip-encoder.js";
export { CodesCache, codesKey } from "./codes-cache.js";
export { readCorpus, type Corpus, type CorpusSample } from "./corpus.js";
export { parseCsv } from "./csv.js";
export { drawTask, taskShares } from "./tasks.js";
export { REJECT } from "./sample.js";
