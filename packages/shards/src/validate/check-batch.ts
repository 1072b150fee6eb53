import { stageKindOf, type ShardMetadata, type TaskCounts, type TaskKind } from "@lwm/schemas";
import type { ShardBatch, Utf8ListColumn } from "../batch.js";
import { bitAt } from "../bits.js";
import { parseProvenance, taskOf, utf8At } from "../reader.js";
import { ShardError } from "../errors.js";
import { segmentLayoutProblem, weightMatches } from "../row-views.js";
import { countTask, taskLayoutProblem, type RunShape } from "../tasks.js";
import type { ErrorCollector } from "./report.js";

export interface BatchStats {
  realTokens: number;
  lossTokens: number;
  segments: number;
  /** Segments per task (format 3; empty before). */
  tasks: TaskCounts;
}

const HEX = new Uint8Array(256);
for (const c of "0123456789abcdef") HEX[c.charCodeAt(0)] = 1;

/** Not in a vision run / the run just ended with <eov> (pos ≥ 0 is the index inside the current frame). */
const NO_RUN = -1;
const AFTER_EOV = -2;

/**
 * Checks every row of one decoded batch against the content rules (token.range, segment.*, pad.tail,
 * loss.*, vision.layout, weight.value) and returns the counts the manifest records. One pass over
 * the tokens with the flags read straight from the Arrow bitmaps.
 */
export function checkBatch(b: ShardBatch, meta: ShardMetadata, shard: string, firstRow: number, errors: ErrorCollector): BatchStats {
  const { seqLen, vocab } = meta;
  const textMax = vocab.textVocabSize;
  const visionMax = vocab.visionVocabSize;
  const codes = vocab.visionCodes;
  const eof = vocab.eofId;
  const eov = vocab.eovId;
  const perFrame = vocab.tokensPerFrame;
  const pad = vocab.padId;
  const tok = b.tokens;
  const vBits = b.visionBits;
  const lBits = b.lossBits;
  const vOff = b.visionBitOffset;
  const lOff = b.lossBitOffset;
  const cuv = b.cuValues;
  const stats: BatchStats = { realTokens: 0, lossTokens: 0, segments: 0, tasks: {} };
  const textStage = stageKindOf(meta) === "text";

  for (let r = 0; r < b.numRows; r++) {
    const row = firstRow + r;
    const base = r * seqLen;
    const c0 = b.cuOffsets[r]!;
    const nseg = b.cuOffsets[r + 1]! - c0 - 1;

    // Segment boundaries first: nothing else can be located without them.
    const layoutProblem = segmentLayoutProblem(cuv.subarray(c0, c0 + nseg + 1), seqLen);
    if (layoutProblem) {
      errors.add(shard, "segment.layout", layoutProblem, row);
      continue;
    }
    stats.segments += nseg;
    const used = cuv[c0 + nseg]!;
    stats.realTokens += used;

    let weightsOk = true;
    let tasksOk = b.tasks !== null;
    const perSegment: [string, Int32Array][] = [
      ["weight_text", b.weightTextOffsets],
      ["weight_vision", b.weightVisionOffsets],
      ["example_id", b.exampleIds.offsets],
      ["provenance", b.provenance.offsets],
    ];
    if (b.tasks) perSegment.push(["task", b.tasks.offsets]);
    for (const [name, offsets] of perSegment) {
      const n = offsets[r + 1]! - offsets[r]!;
      if (n !== nseg) {
        errors.add(shard, "segment.layout", `${name} has ${n} entries for ${nseg} segments`, row);
        if (name.startsWith("weight")) weightsOk = false;
        if (name === "task") tasksOk = false;
      }
    }

    for (let s = 0; s < nseg; s++) {
      const start = cuv[c0 + s]!;
      const end = cuv[c0 + s + 1]!;
      if (bitAt(lBits, lOff + base + start)) errors.add(shard, "loss.first-token", `segment ${s} starts with a loss token`, row, start);
      let textLoss = 0;
      let visionLoss = 0;
      let pos = NO_RUN;
      const runs: RunShape[] = [];
      let visionReported = !textStage;
      for (let i = start; i < end; i++) {
        const g = base + i;
        const t = tok[g]!;
        const lbit = bitAt(lBits, lOff + g);
        if (bitAt(vBits, vOff + g) === 0) {
          textLoss += lbit;
          if (pos >= 0) {
            errors.add(
              shard,
              "vision.layout",
              `vision run ends ${pos === perFrame ? "without a frame delimiter" : `${pos} tokens into a frame`} (no <eov>)`,
              row,
              i,
            );
          }
          pos = NO_RUN;
          if (t >= textMax) errors.add(shard, "token.range", `text id ${t} >= textVocabSize ${textMax}`, row, i);
          else if (t === pad) errors.add(shard, "pad.tail", `pad id ${pad} inside segment ${s} (padding belongs only at the row tail)`, row, i);
        } else {
          if (!visionReported) {
            errors.add(shard, "stage.kind", `segment ${s} holds vision tokens, but the shard's stageKind is "text"`, row, i);
            visionReported = true;
          }
          visionLoss += lbit;
          if (pos === NO_RUN || pos === AFTER_EOV) runs.push({ frames: 0, loss: false });
          const run = runs[runs.length - 1]!;
          if (lbit) run.loss = true;
          if (t >= visionMax) errors.add(shard, "token.range", `vision id ${t} >= visionVocabSize ${visionMax}`, row, i);
          if (pos === AFTER_EOV) {
            errors.add(shard, "vision.layout", "vision tokens continue after <eov>", row, i);
            pos = 0;
          } else if (pos === NO_RUN) pos = 0;
          if (pos < perFrame) {
            if (t >= codes && t < visionMax) errors.add(shard, "vision.layout", `expected a code (< ${codes}) at frame position ${pos}, got ${t}`, row, i);
            pos++;
          } else if (t === eof) {
            pos = 0;
            run.frames++;
          } else if (t === eov) {
            pos = AFTER_EOV;
            run.frames++;
          } else {
            errors.add(shard, "vision.layout", `expected <eof>=${eof} or <eov>=${eov} after ${perFrame} codes, got ${t}`, row, i);
            pos = 0;
          }
        }
      }
      if (pos >= 0) errors.add(shard, "vision.layout", `segment ${s} ends inside a vision run (no <eov>)`, row, end - 1);
      stats.lossTokens += textLoss + visionLoss;
      if (weightsOk) {
        checkWeight(b.weightText[b.weightTextOffsets[r]! + s]!, textLoss, "text", s, shard, row, errors);
        checkWeight(b.weightVision[b.weightVisionOffsets[r]! + s]!, visionLoss, "vision", s, shard, row, errors);
      }
      if (tasksOk) checkTask(b.tasks!, b.tasks!.offsets[r]! + s, runs, s, shard, row, errors, stats.tasks);
    }

    for (let i = used; i < seqLen; i++) {
      const g = base + i;
      if (tok[g] !== pad) errors.add(shard, "pad.tail", `padding token is ${tok[g]}, expected padId ${pad}`, row, i);
      if (bitAt(vBits, vOff + g)) errors.add(shard, "pad.tail", "padding token has vision set", row, i);
      if (bitAt(lBits, lOff + g)) {
        errors.add(shard, "loss.padding", "padding token carries loss", row, i);
        stats.lossTokens++;
      }
    }

    checkSegmentReferences(b, r, row, shard, errors);
  }
  return stats;
}

function checkWeight(stored: number, lossTokens: number, modality: string, s: number, shard: string, row: number, errors: ErrorCollector): void {
  if (!weightMatches(stored, lossTokens)) {
    errors.add(
      shard,
      "weight.value",
      `segment ${s} weight_${modality} is ${stored}, expected ${lossTokens === 0 ? "0" : `1/${lossTokens}`} (${modality} loss tokens: ${lossTokens})`,
      row,
    );
  }
}

/** Segment s's recorded task (string k of the column): a known task, counted in `tasks`, that its vision runs agree with. */
function checkTask(
  col: Utf8ListColumn,
  k: number,
  runs: readonly RunShape[],
  s: number,
  shard: string,
  row: number,
  errors: ErrorCollector,
  tasks: TaskCounts,
): void {
  let task: TaskKind;
  try {
    task = taskOf(utf8At(col, k), shard, row, s);
  } catch (err) {
    errors.add(shard, "segment.task", err instanceof ShardError ? err.detail : `segment ${s}: task is not UTF-8`, row);
    return;
  }
  countTask(tasks, task);
  const problem = taskLayoutProblem(task, runs);
  if (problem) errors.add(shard, "segment.task", `segment ${s} is recorded as ${task}, but ${problem}`, row);
}

function checkSegmentReferences(b: ShardBatch, r: number, row: number, shard: string, errors: ErrorCollector): void {
  const ids = b.exampleIds;
  for (let k = ids.offsets[r]!, s = 0; k < ids.offsets[r + 1]!; k++, s++) {
    const from = ids.valueOffsets[k]!;
    const to = ids.valueOffsets[k + 1]!;
    let ok = to - from === 32;
    for (let j = from; ok && j < to; j++) ok = HEX[ids.data[j]!] === 1;
    if (!ok) errors.add(shard, "segment.example-id", `segment ${s} example id ${JSON.stringify(safeUtf8(ids, k))} is not 32 lowercase hex digits`, row);
  }
  const prov = b.provenance;
  for (let k = prov.offsets[r]!, s = 0; k < prov.offsets[r + 1]!; k++, s++) {
    try {
      parseProvenance(utf8At(prov, k), shard, row, s);
    } catch (err) {
      errors.add(shard, "segment.provenance", err instanceof ShardError ? err.detail : `segment ${s}: provenance is not UTF-8`, row);
    }
  }
}

function safeUtf8(col: ShardBatch["exampleIds"], k: number): string {
  return Buffer.from(col.data.subarray(col.valueOffsets[k]!, col.valueOffsets[k + 1]!)).toString("latin1");
}
