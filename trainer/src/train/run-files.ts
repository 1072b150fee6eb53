import { readdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { renderLossCurve } from "./curve-html.js";
import { readMetrics } from "./metrics.js";
import { isTempName, writeFileAtomic } from "@lwm/core";

export const METRICS_FILE = "metrics.jsonl";
export const CURVE_FILE = "loss.html";
export const LATEST_FILE = "latest.json";

/**
 * The files of a run folder:
 *   metrics.jsonl, loss.html, latest.json → the checkpoint to resume from,
 *   checkpoints/<stage>/step-NNNNNN (the latest mid-stage one) and checkpoints/<stage>/final.
 */
export class RunFiles {
  readonly metrics: string;
  readonly curve: string;
  readonly latest: string;

  constructor(
    readonly dir: string,
    private readonly title: string,
  ) {
    this.metrics = join(dir, METRICS_FILE);
    this.curve = join(dir, CURVE_FILE);
    this.latest = join(dir, LATEST_FILE);
  }

  checkpointDir(stage: string, name: string): string {
    return join(this.dir, "checkpoints", stage, name);
  }

  /**
   * Points latest.json at `checkpoint`, then drops the stage's superseded step checkpoints and any
   * temp folder a killed save left behind (publishDir's ".<name>.tmp-…" / ".<name>.old-…", core's isTempName).
   */
  async checkpointWritten(stage: string, checkpoint: string): Promise<void> {
    await writeFileAtomic(this.latest, JSON.stringify({ checkpoint: relative(this.dir, checkpoint) }) + "\n");
    const stageDir = join(this.dir, "checkpoints", stage);
    for (const entry of await readdir(stageDir)) {
      const stale = /^step-\d+$/.test(entry) || isTempName(entry);
      if (join(stageDir, entry) !== checkpoint && stale) await rm(join(stageDir, entry), { recursive: true, force: true });
    }
  }

  /** Re-renders loss.html from metrics.jsonl. */
  async renderCurve(): Promise<void> {
    await writeFileAtomic(this.curve, renderLossCurve(this.title, await readMetrics(this.metrics)));
  }
}
