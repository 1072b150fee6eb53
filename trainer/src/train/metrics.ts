import { existsSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import { formatZodError } from "@lwm/schemas";
import { writeFileAtomic } from "@lwm/core";

/** One line of metrics.jsonl. `step` counts optimizer steps over all stages (the curve's x axis). */
export const StepRecord = z.object({
  kind: z.literal("step"),
  stage: z.string(),
  stageStep: z.number().int().positive(),
  step: z.number().int().positive(),
  loss: z.number(),
  textLoss: z.number(),
  visionLoss: z.number(),
  /** null when the batch had no target of that modality. */
  textAccuracy: z.number().nullable(),
  visionAccuracy: z.number().nullable(),
  lr: z.number(),
  /** Global gradient norm before clipping. */
  gradNorm: z.number(),
  examples: z.number().int(),
  /** rows × seqLen consumed so far in this stage, and over all stages. */
  stageTokens: z.number().int(),
  totalTokens: z.number().int(),
  tokensPerSecond: z.number(),
  /** Model FLOP/s in GFLOP/s (train/flops.ts). */
  modelGflops: z.number(),
  seconds: z.number(),
  /** Of `seconds`, the time inside the engine's forward/backward calls (the rest is loader, optimizer, logging). */
  engineSeconds: z.number(),
});
export type StepRecord = z.infer<typeof StepRecord>;

export const EvalRecord = z.object({
  kind: z.literal("eval"),
  stage: z.string(),
  stageStep: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  evalLoss: z.number(),
  evalTextLoss: z.number(),
  evalVisionLoss: z.number(),
  evalTextAccuracy: z.number().nullable(),
  evalVisionAccuracy: z.number().nullable(),
  rows: z.number().int(),
  examples: z.number().int(),
});
export type EvalRecord = z.infer<typeof EvalRecord>;

export const StageRecord = z.object({
  kind: z.literal("stage"),
  stage: z.string(),
  kindOfStage: z.enum(["text", "vision-language"]),
  seqLen: z.number().int(),
  ropeTheta: z.number(),
  steps: z.number().int(),
  batchRows: z.number().int(),
  trainRows: z.number().int(),
  evalRows: z.number().int(),
  /** Where the stage's initial weights came from, and their sha256 (over the text model's tensors in paramShapes order). */
  initFrom: z.string(),
  initSha256: z.string(),
  /** Global step before the stage's first step. */
  startStep: z.number().int().nonnegative(),
});
export type StageRecord = z.infer<typeof StageRecord>;

export const MetricsRecord = z.discriminatedUnion("kind", [StepRecord, EvalRecord, StageRecord]);
export type MetricsRecord = z.infer<typeof MetricsRecord>;

/** Append-only metrics.jsonl; resume cuts it back to the lines the checkpoint had seen. */
export class MetricsLog {
  private lines = 0;

  private constructor(readonly path: string) {}

  /** Opens (creating) the log; with `keepLines`, drops every line after the first `keepLines`. */
  static async open(path: string, keepLines?: number): Promise<MetricsLog> {
    const log = new MetricsLog(path);
    if (!existsSync(path)) {
      await writeFile(path, "");
      return log;
    }
    const records = await readMetrics(path);
    if (keepLines === undefined) {
      log.lines = records.length;
      return log;
    }
    if (keepLines > records.length) throw new Error(`${path}: has ${records.length} records, the checkpoint saw ${keepLines}`);
    await writeFileAtomic(
      path,
      records
        .slice(0, keepLines)
        .map((r) => JSON.stringify(r) + "\n")
        .join(""),
    );
    log.lines = keepLines;
    return log;
  }

  get count(): number {
    return this.lines;
  }

  async append(record: MetricsRecord): Promise<void> {
    await appendFile(this.path, JSON.stringify(record) + "\n");
    this.lines += 1;
  }
}

/** Reads and validates metrics.jsonl (a torn last line from a kill is ignored). */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  const text = await readFile(path, "utf8");
  // Every complete record ends with "\n": the last piece is "" or a line torn by a kill.
  const complete = text.split("\n").slice(0, -1);
  return complete.map((line, i) => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new Error(`${path}: line ${i + 1} is not JSON (${(err as Error).message})`);
    }
    const r = MetricsRecord.safeParse(json);
    if (!r.success) throw new Error(formatZodError(r.error, `${path}: line ${i + 1}`));
    return r.data;
  });
}
