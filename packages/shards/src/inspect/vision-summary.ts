/**
 * Vision counts of a stage: clips (vision runs), frames, and tasks. Shards do not store the task a
 * producer recorded in its examples, so the task is read off the layout: a segment without vision
 * is `text`; with vision it is an image task when every run is one frame, a video task otherwise,
 * and →vision (generation) when a run carries loss, vision→ (understanding) when none does.
 */
export type LayoutTask = "text" | "image-text" | "text-image" | "video-text" | "text-video";

/** One vision run of a segment, as far as counting needs. */
export interface RunShape {
  frames: number;
  loss: boolean;
}

export function taskOfLayout(runs: readonly RunShape[]): LayoutTask {
  if (runs.length === 0) return "text";
  const video = runs.some((r) => r.frames > 1);
  const generated = runs.some((r) => r.loss);
  if (generated) return video ? "text-video" : "text-image";
  return video ? "video-text" : "image-text";
}

export interface VisionSummary {
  /** Vision runs (one image or clip each). */
  clips: number;
  frames: number;
  framesPerClip: { min: number; mean: number; max: number };
  /** Segments and tokens per task read off the layout, most segments first. */
  tasks: { task: LayoutTask; segments: number; tokens: number }[];
}

export class VisionTally {
  private clips = 0;
  private frames = 0;
  private min = Infinity;
  private max = 0;
  private readonly tasks = new Map<LayoutTask, { segments: number; tokens: number }>();

  addSegment(runs: readonly RunShape[], tokens: number): void {
    for (const r of runs) {
      this.clips++;
      this.frames += r.frames;
      this.min = Math.min(this.min, r.frames);
      this.max = Math.max(this.max, r.frames);
    }
    const task = taskOfLayout(runs);
    const t = this.tasks.get(task) ?? { segments: 0, tokens: 0 };
    t.segments++;
    t.tokens += tokens;
    this.tasks.set(task, t);
  }

  summary(): VisionSummary {
    return {
      clips: this.clips,
      frames: this.frames,
      framesPerClip: { min: this.clips === 0 ? 0 : this.min, mean: this.clips === 0 ? 0 : this.frames / this.clips, max: this.max },
      tasks: [...this.tasks.entries()].map(([task, t]) => ({ task, ...t })).sort((a, b) => b.segments - a.segments || a.task.localeCompare(b.task)),
    };
  }
}
