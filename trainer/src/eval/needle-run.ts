import type { NeedleEvalRecord } from "@lwm/schemas";
import { drawNeedles } from "./facts.js";
import { buildNeedlePrompt, LWM_NEEDLE, scoreAnswer, type PromptTokenizer, type RetrievalTemplate } from "./needle.js";

export interface NeedleTokenizer extends PromptTokenizer {
  readonly eosId: number;
  readonly vocabSize: number;
  decode(ids: ArrayLike<number>): Promise<string>;
  pieceOf(id: number): string;
}

/** Ids of vocabulary pieces that end a sentence ("." at the piece's end), where needles may go. */
export function sentenceEndIds(tok: Pick<NeedleTokenizer, "vocabSize" | "pieceOf">): Set<number> {
  const out = new Set<number>();
  for (let id = 0; id < tok.vocabSize; id++) {
    let piece: string;
    try {
      piece = tok.pieceOf(id);
    } catch {
      continue;
    }
    if (/\.["'”’)]*$/.test(piece)) out.add(id);
  }
  return out;
}

/** One cell of the grid: `trials` prompts of `length` tokens with `needles` needles, the first at `depth`. */
export interface NeedleCell {
  needles: number;
  length: number;
  depth: number;
  trials: number;
}

/** A needle count, asked only at lengths up to `maxLength` when given (e.g. 2 needles up to 8K). */
export interface NeedleCount {
  count: number;
  maxLength?: number;
}

export interface NeedleGridSpec {
  lengths: readonly number[];
  depths: readonly number[];
  needleCounts: readonly NeedleCount[];
  /** Trials per cell at every length not in `trialsByLength`. */
  trials: number;
  trialsByLength?: ReadonlyMap<number, number>;
}

/** The grid's cells in run order: needle count, then length, then depth. */
export function planNeedleCells(spec: NeedleGridSpec): NeedleCell[] {
  const cells: NeedleCell[] = [];
  for (const { count, maxLength } of spec.needleCounts) {
    for (const length of spec.lengths) {
      if (maxLength !== undefined && length > maxLength) continue;
      const trials = spec.trialsByLength?.get(length) ?? spec.trials;
      for (const depth of spec.depths) cells.push({ needles: count, length, depth, trials });
    }
  }
  return cells;
}

/** Identifies a cell across runs (a cell asked with other trials is another cell). */
export function cellKey(c: Pick<NeedleCell, "needles" | "depth" | "trials"> & { length?: number; contextTokens?: number }): string {
  return `${c.needles}/${c.length ?? c.contextTokens}/${c.depth}/${c.trials}`;
}

export interface NeedleGridOptions {
  /** Names the checkpoint in the records. */
  checkpoint: string;
  cells: readonly NeedleCell[];
  /** Cells finished by an earlier, interrupted run (by cellKey): kept as they are, not run again. */
  done?: ReadonlyMap<string, NeedleEvalRecord>;
  seed: number;
  maxNewTokens: number;
  tokenizer: NeedleTokenizer;
  haystack: Uint32Array;
  sentenceEnds: ReadonlySet<number>;
  /** Wording of needles and question (default LWM's). */
  template?: RetrievalTemplate;
  /** Greedy continuation of `prompt`: the new tokens only (may stop early at EOS). */
  generate: (prompt: Uint32Array, maxNew: number) => Promise<Uint32Array>;
  /** Awaited after each newly run cell (progress, and the resume journal's append). */
  onCell?: (record: NeedleEvalRecord, answers: string[]) => void | Promise<void>;
}

/** The seed of one trial of one cell: every cell draws its own needles, reproducibly. */
function trialSeed(seed: number, needles: number, length: number, depth: number, trial: number): number {
  return (((seed * 1_000_003) ^ (needles * 7919) ^ (length * 104_729) ^ (Math.round(depth * 1e6) * 31)) + trial * 2_654_435) | 0;
}

/**
 * Runs the cells in order, skipping those in `done`. A trial is correct when every needle's number
 * is in the answer; `recall` is the fraction of needles found (LWM's per-needle score). Needles come
 * from the evaluation pool (facts.ts), whatever the template.
 */
export async function runNeedleGrid(o: NeedleGridOptions): Promise<NeedleEvalRecord[]> {
  const template = o.template ?? LWM_NEEDLE;
  const records: NeedleEvalRecord[] = [];
  for (const cell of o.cells) {
    const earlier = o.done?.get(cellKey(cell));
    if (earlier) {
      records.push(earlier);
      continue;
    }
    let correct = 0;
    let found = 0;
    const answers: string[] = [];
    for (let trial = 0; trial < cell.trials; trial++) {
      const needles = drawNeedles(cell.needles, trialSeed(o.seed, cell.needles, cell.length, cell.depth, trial));
      const prompt = await buildNeedlePrompt(o.tokenizer, o.haystack, needles, cell.depth, cell.length, o.sentenceEnds, template);
      const out = await o.generate(prompt.tokens, o.maxNewTokens);
      const eos = out.indexOf(o.tokenizer.eosId);
      const answer = await o.tokenizer.decode(eos >= 0 ? out.subarray(0, eos) : out);
      answers.push(answer);
      const s = scoreAnswer(answer, needles);
      found += s.found;
      if (s.correct) correct += 1;
    }
    const record: NeedleEvalRecord = {
      formatVersion: 1,
      checkpoint: o.checkpoint,
      contextTokens: cell.length,
      depth: cell.depth,
      needles: cell.needles,
      trials: cell.trials,
      correct,
      accuracy: correct / cell.trials,
      recall: found / (cell.trials * cell.needles),
      template: template.name,
    };
    records.push(record);
    await o.onCell?.(record, answers);
  }
  return records;
}
