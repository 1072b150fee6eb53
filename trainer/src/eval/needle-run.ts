import type { NeedleEvalRecord } from "@lwm/schemas";
import { buildNeedlePrompt, drawNeedles, scoreAnswer, type PromptTokenizer } from "./needle.js";

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

export interface NeedleGridOptions {
  /** Names the checkpoint in the records. */
  checkpoint: string;
  lengths: readonly number[];
  depths: readonly number[];
  needleCounts: readonly number[];
  trials: number;
  seed: number;
  maxNewTokens: number;
  tokenizer: NeedleTokenizer;
  haystack: Uint32Array;
  sentenceEnds: ReadonlySet<number>;
  /** Greedy continuation of `prompt`: the new tokens only (may stop early at EOS). */
  generate: (prompt: Uint32Array, maxNew: number) => Promise<Uint32Array>;
  /** Called after each cell (for progress). */
  onCell?: (record: NeedleEvalRecord, answers: string[]) => void;
}

/** The seed of one trial of one cell: every cell draws its own needles, reproducibly. */
function trialSeed(seed: number, needles: number, length: number, depth: number, trial: number): number {
  return (((seed * 1_000_003) ^ (needles * 7919) ^ (length * 104_729) ^ (Math.round(depth * 1e6) * 31)) + trial * 2_654_435) | 0;
}

/**
 * Runs the length × depth grid for every needle count. A trial is correct when every needle's
 * number is in the answer; `recall` is the fraction of needles found (LWM's per-needle score).
 */
export async function runNeedleGrid(o: NeedleGridOptions): Promise<NeedleEvalRecord[]> {
  const records: NeedleEvalRecord[] = [];
  for (const count of o.needleCounts) {
    for (const length of o.lengths) {
      for (const depth of o.depths) {
        let correct = 0;
        let found = 0;
        const answers: string[] = [];
        for (let trial = 0; trial < o.trials; trial++) {
          const needles = drawNeedles(count, trialSeed(o.seed, count, length, depth, trial));
          const prompt = await buildNeedlePrompt(o.tokenizer, o.haystack, needles, depth, length, o.sentenceEnds);
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
          contextTokens: length,
          depth,
          needles: count,
          trials: o.trials,
          correct,
          accuracy: correct / o.trials,
          recall: found / (o.trials * count),
        };
        records.push(record);
        o.onCell?.(record, answers);
      }
    }
  }
  return records;
}
