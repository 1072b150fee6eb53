import type { TaskKind } from "@lwm/schemas";
import { taskOfLayout, type RunShape } from "../tasks.js";

/**
 * Vision counts of a stage: clips (vision runs), frames, and tasks. Format 3 shards record each
 * segment's task; for older shards the task is read off the layout (taskOfLayout), and the summary
 * says how many segments that was.
 */
export interface VisionSummary {
  /** Vision runs (one image or clip each). */
  clips: number;
  frames: number;
  framesPerClip: { min: number; mean: number; max: number };
  /** Segments and tokens per task, most segments first. */
  tasks: { task: TaskKind; segments: number; tokens: number }[];
  /** Segments whose task was read off the layout (their shard predates format 3); 0 when every task was recorded. */
  tasksFromLayout: number;
}

export class VisionTally {
  private clips = 0;
  private frames = 0;
  private min = Infinity;
  private max = 0;
  private fromLayout = 0;
  private readonly tasks = new Map<TaskKind, { segments: number; tokens: number }>();

  /** One segment: its vision runs, its tokens and its recorded task (null: read it off the runs). */
  addSegment(runs: readonly RunShape[], tokens: number, recorded: TaskKind | null): void {
    for (const r of runs) {
      this.clips++;
      this.frames += r.frames;
      this.min = Math.min(this.min, r.frames);
      this.max = Math.max(this.max, r.frames);
    }
    if (recorded === null) this.fromLayout++;
    const task = recorded ?? taskOfLayout(runs);
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
      tasksFromLayout: this.fromLayout,
    };
  }
}
