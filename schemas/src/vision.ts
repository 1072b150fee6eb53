import { z } from "zod";
import { strictObject } from "./strict.js";

const SourceName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/);
const Share = z.number().positive();

/** Which column (JSONL key, CSV header, Parquet column) holds what, as video2dataset/img2dataset map them. */
export const CorpusColumns = strictObject({
  /** Path of the media file, relative to `mediaRoot` (default: the corpus file's folder). */
  media: z.string().min(1).default("media"),
  caption: z.string().min(1).default("caption"),
  /** Clip start and end in seconds (video2dataset's clip columns); both optional, per row. */
  start: z.string().min(1).optional(),
  end: z.string().min(1).optional(),
  /** A sample id kept in provenance (default: none; the row position identifies the sample). */
  id: z.string().min(1).optional(),
});
export type CorpusColumns = z.infer<typeof CorpusColumns>;

export const CorpusFormat = z.enum(["auto", "jsonl", "csv", "parquet", "folder"]);
export type CorpusFormat = z.infer<typeof CorpusFormat>;

const visionSourceFields = {
  name: SourceName,
  /**
   * A corpus file (.jsonl, .csv or .parquet: one sample per row) or a folder of media files each
   * with a `<stem>.txt` caption beside it (img2dataset's "files" layout). Relative to the recipe.
   */
  corpus: z.string().min(1),
  /** "auto" picks by the corpus's extension (a folder is a folder). */
  format: CorpusFormat.default("auto"),
  columns: CorpusColumns.default(CorpusColumns.parse({})),
  /** Folder the media paths are relative to (relative to the recipe); default: the corpus file's folder. */
  mediaRoot: z.string().min(1).optional(),
  /** Media whose shorter side is below this many pixels is rejected (LWM keeps images ≥ 256 px). */
  minSide: z.number().int().nonnegative().default(0),
  /** Seeds the per-sample task draw (the draw depends on the sample, not on the slice or the order). */
  seed: z.number().int().default(0),
  /** A source of which no sample is encoded fails the vision step unless this is true. */
  allowEmpty: z.boolean().default(false),
};

/** Video-text pairs (WebVid/InternVid-like). A still image in the corpus is a one-frame video. */
export const VideoTextSource = strictObject({
  kind: z.literal("video-text"),
  ...visionSourceFields,
  /** Share of samples per task (lwm-spec §1.5 orders): video→text (captioning) and text→video (generation). */
  tasks: strictObject({ "video-text": Share.optional(), "text-video": Share.optional() })
    .refine((t) => Object.keys(t).length > 0, { message: "name at least one task" })
    .default({ "video-text": 1 }),
});
export type VideoTextSource = z.infer<typeof VideoTextSource>;

/** Image-text pairs (LAION/COYO-like). A video in the corpus contributes its first frame. */
export const ImageTextSource = strictObject({
  kind: z.literal("image-text"),
  ...visionSourceFields,
  tasks: strictObject({ "image-text": Share.optional(), "text-image": Share.optional() })
    .refine((t) => Object.keys(t).length > 0, { message: "name at least one task" })
    .default({ "image-text": 1 }),
});
export type ImageTextSource = z.infer<typeof ImageTextSource>;

export type VisionSource = VideoTextSource | ImageTextSource;
export type VisionTask = "image-text" | "text-image" | "video-text" | "text-video";

/**
 * Frames per clip in a stage (lwm-spec §5.3: LWM's 8K stage takes 4 fps, up to 30 frames): `fps`
 * or `frames` (N evenly spaced by index), at most `maxFrames`, and never more than fit the stage's
 * seqLen with the caption (257 tokens per frame).
 */
export const StageFrames = strictObject({
  fps: z.number().positive().max(240).optional(),
  frames: z.number().int().positive().max(100_000).optional(),
  maxFrames: z.number().int().positive().max(100_000).default(30),
}).refine((f) => (f.fps === undefined) !== (f.frames === undefined), { message: "give exactly one of fps or frames", path: ["fps"] });
export type StageFrames = z.infer<typeof StageFrames>;

export const DEFAULT_STAGE_FRAMES: StageFrames = { fps: 4, maxFrames: 30 };

export const VisionStepConfig = strictObject({
  /** Frames per onnxruntime run. */
  batch: z.number().int().positive().max(1024).default(8),
  /** Corpus rows per unit of work (the resume grain). */
  unitSamples: z.number().int().positive().max(1_000_000).default(64),
});
export type VisionStepConfig = z.infer<typeof VisionStepConfig>;
