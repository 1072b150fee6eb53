import { TaskKind, type TaskCounts } from "@lwm/schemas";

/** One vision run (block) of a segment, as far as its task is concerned. */
export interface RunShape {
  /** Frames: the run's <eof> and <eov> delimiters. */
  frames: number;
  /** Some token of the run is a loss target (→vision); none is (vision→). */
  loss: boolean;
}

/** The tasks `taskOfLayout` can tell apart: the chat tasks look like `text` or a vision task. */
export type LayoutTask = "text" | "image-text" | "text-image" | "video-text" | "text-video";

/**
 * The task a segment's layout suggests, for shards before format 3 (which record no task): no vision
 * is `text`; with vision, an image task when every run is one frame, a video task otherwise (so a
 * 1-frame video reads as an image), →vision when a run carries loss, vision→ when none does.
 */
export function taskOfLayout(runs: readonly RunShape[]): LayoutTask {
  if (runs.length === 0) return "text";
  const video = runs.some((r) => r.frames > 1);
  const generated = runs.some((r) => r.loss);
  if (generated) return video ? "text-video" : "text-image";
  return video ? "video-text" : "image-text";
}

const TEXT_TASKS: ReadonlySet<TaskKind> = new Set(["text", "text-chat", "qa-chat"]);

/**
 * Why a segment with these vision runs cannot be of `task`, or null when it can (lwm-spec §1.4–1.5):
 * text tasks hold no vision tokens; image/video tasks hold exactly one vision block, of one frame
 * for an image, with loss on the block for →vision and none for vision→; vision-chat holds some vision.
 */
export function taskLayoutProblem(task: TaskKind, runs: readonly RunShape[]): string | null {
  const blocks = `${runs.length} vision block${runs.length === 1 ? "" : "s"}`;
  if (TEXT_TASKS.has(task)) return runs.length === 0 ? null : `it holds ${blocks} (a text task holds no vision tokens)`;
  if (task === "vision-chat") return runs.length > 0 ? null : "it holds no vision block";
  if (runs.length !== 1) return `it holds ${blocks}, expected exactly 1`;
  const run = runs[0]!;
  if ((task === "image-text" || task === "text-image") && run.frames !== 1) return `its vision block has ${run.frames} frames, an image has 1`;
  const toVision = task.startsWith("text-");
  if (toVision && !run.loss) return "its vision block carries no loss (a text→vision task is trained on the vision block)";
  if (!toVision && run.loss) return "its vision block carries loss (a vision→text task is trained on the text only)";
  return null;
}

/** `value` as a TaskKind, or null when it names no task. */
export function parseTask(value: string): TaskKind | null {
  const parsed = TaskKind.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Adds `n` segments of `task` to `counts`. */
export function countTask(counts: TaskCounts, task: TaskKind, n = 1): void {
  counts[task] = (counts[task] ?? 0) + n;
}

/** The counts added, keys in TaskKind order (so equal counts are equal JSON). */
export function sumTaskCounts(...all: readonly TaskCounts[]): TaskCounts {
  const out: TaskCounts = {};
  for (const task of TaskKind.options) {
    const n = all.reduce((sum, c) => sum + (c[task] ?? 0), 0);
    if (n > 0) out[task] = n;
  }
  return out;
}
