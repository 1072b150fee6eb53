import type { Provenance, TaskKind, VocabLayout } from "@lwm/schemas";
import type { PackedRow } from "../row.js";
import { taskOfLayout } from "../tasks.js";

/** A stretch of one segment whose tokens share table (text/vision) and loss flag. */
export interface Span {
  kind: "text" | "vision";
  loss: boolean;
  /** Row token indices [start, end). */
  start: number;
  end: number;
}

/** One vision run: k frames of tokensPerFrame codes + delimiter. */
export interface VisionBlock {
  start: number;
  end: number;
  frames: number;
  loss: boolean;
}

export interface SegmentDetail {
  index: number;
  start: number;
  end: number;
  length: number;
  textTokens: number;
  visionTokens: number;
  textLossTokens: number;
  visionLossTokens: number;
  weightText: number;
  weightVision: number;
  exampleId: string;
  provenance: Provenance;
  /** The example's task, as recorded (format 3) or read off the layout (before; see taskFromLayout). */
  task: TaskKind;
  /** The shard records no task (before format 3): `task` was read off the vision blocks. */
  taskFromLayout: boolean;
  spans: Span[];
  visionBlocks: VisionBlock[];
}

/** The segments of a row with their spans, vision blocks, loss counts, weights and provenance. */
export function rowSegments(row: PackedRow, layout: VocabLayout): SegmentDetail[] {
  const out: SegmentDetail[] = [];
  const cu = row.cuSeqlens;
  for (let k = 0; k + 1 < cu.length; k++) {
    const start = cu[k]!;
    const end = cu[k + 1]!;
    const d: SegmentDetail = {
      index: k,
      start,
      end,
      length: end - start,
      textTokens: 0,
      visionTokens: 0,
      textLossTokens: 0,
      visionLossTokens: 0,
      weightText: row.weightText[k]!,
      weightVision: row.weightVision[k]!,
      exampleId: row.exampleIds[k]!,
      provenance: row.provenance[k]!,
      task: "text",
      taskFromLayout: row.tasks === null,
      spans: [],
      visionBlocks: [],
    };
    for (let i = start; i < end; i++) {
      const kind = row.vision[i] ? "vision" : "text";
      const loss = row.loss[i] === 1;
      if (kind === "vision") {
        d.visionTokens++;
        if (loss) d.visionLossTokens++;
      } else {
        d.textTokens++;
        if (loss) d.textLossTokens++;
      }
      const last = d.spans[d.spans.length - 1];
      if (last && last.kind === kind && last.loss === loss && last.end === i) last.end = i + 1;
      else d.spans.push({ kind, loss, start: i, end: i + 1 });
      const block = d.visionBlocks[d.visionBlocks.length - 1];
      if (kind === "vision") {
        if (block && block.end === i) block.end = i + 1;
        else d.visionBlocks.push({ start: i, end: i + 1, frames: 0, loss: false });
        const current = d.visionBlocks[d.visionBlocks.length - 1]!;
        if (loss) current.loss = true;
        if (row.tokens[i] === layout.eofId || row.tokens[i] === layout.eovId) current.frames++;
      }
    }
    d.task = row.tasks?.[k] ?? taskOfLayout(d.visionBlocks);
    out.push(d);
  }
  return out;
}
