/**
 * `lwm eval needle` as a function: loads a checkpoint, the tokenizer and the haystack, runs the
 * grid through the onnxruntime ring (prefill) and float64 KV-cache decoding, journals every
 * finished cell (needle-journal.ts) and writes <out>/needle.json and <out>/needle.html. A rerun with
 * the same settings and --out continues where an interrupted one stopped.
 */
import { mkdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { sha256File, sha256Hex, stableStringify, writeFileAtomic } from "@lwm/core";
import { NeedleEvalRecord } from "@lwm/schemas";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { loadCheckpoint, MODEL_FILE, type LoadedCheckpoint } from "../checkpoint/checkpoint.js";
import { greedyDecodeFrom } from "../model/decode.js";
import { createEngine } from "../model/engine.js";
import { renderNeedleHeatmap } from "./heatmap-html.js";
import { NeedleEvalInputError, readHaystack } from "./haystack.js";
import { JOURNAL_FILE, openNeedleJournal } from "./needle-journal.js";
import { cellKey, planNeedleCells, runNeedleGrid, sentenceEndIds, type NeedleCount } from "./needle-run.js";
import { TEMPLATES, type TemplateName } from "./needle.js";

export interface NeedleEvalOptions {
  checkpoint: string;
  haystackFiles: readonly string[];
  /** Prompt lengths in tokens; default ¼, ½ and all of the checkpoint's trained length. */
  lengths?: readonly number[];
  depths: readonly number[];
  needleCounts: readonly NeedleCount[];
  trials: number;
  trialsByLength?: ReadonlyMap<number, number>;
  maxNewTokens?: number;
  seed: number;
  workers: number;
  template: TemplateName;
  tokenizer?: string;
  /** Default: <checkpoint>-needle beside the checkpoint folder. */
  out?: string;
  /** Progress and warnings (one line each, no newline). */
  log: (line: string) => void;
}

export interface NeedleEvalResult {
  records: NeedleEvalRecord[];
  json: string;
  html: string;
  /** Cells taken from the journal of an earlier, interrupted run. */
  resumed: number;
  seconds: number;
}

export async function runNeedleEval(o: NeedleEvalOptions): Promise<NeedleEvalResult> {
  const started = Date.now();
  let ckpt: LoadedCheckpoint;
  try {
    ckpt = await loadCheckpoint(o.checkpoint);
  } catch (err) {
    throw new NeedleEvalInputError(`--checkpoint ${o.checkpoint}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const lengths = o.lengths ?? [...new Set([Math.floor(ckpt.seqLen / 4), Math.floor(ckpt.seqLen / 2), ckpt.seqLen])];
  const cells = planNeedleCells({ lengths, depths: o.depths, needleCounts: o.needleCounts, trials: o.trials, trialsByLength: o.trialsByLength });
  if (cells.length === 0) throw new NeedleEvalInputError("the grid is empty: no needle count is asked at any of --lengths");
  const maxLength = Math.max(...lengths);
  if (maxLength > ckpt.seqLen) o.log(`warning: lengths up to ${maxLength} exceed the checkpoint's trained length ${ckpt.seqLen}`);

  let tokenizer: Tokenizer;
  try {
    tokenizer = await loadTokenizer(o.tokenizer);
  } catch (err) {
    throw new NeedleEvalInputError(`tokenizer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (tokenizer.vocabSize > ckpt.dims.vocabSize) {
    throw new NeedleEvalInputError(
      `the tokenizer has ${tokenizer.vocabSize} ids but the checkpoint's vocab_size is ${ckpt.dims.vocabSize} (pass --tokenizer for the one it was trained with)`,
    );
  }
  const haystack = await tokenizer.encode(await readHaystack(o.haystackFiles, maxLength * 8 + 10_000));
  const maxNewTokens = o.maxNewTokens ?? 16 + 12 * Math.max(...o.needleCounts.map((n) => n.count));
  const label = resolve(o.checkpoint);
  const outDir = o.out ?? join(dirname(label), `${basename(label)}-needle`);
  await mkdir(outDir, { recursive: true });

  const settings = sha256Hex(
    stableStringify({
      weights: await sha256File(join(o.checkpoint, MODEL_FILE)),
      haystack: sha256Hex(Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)),
      tokenizer: tokenizer.sha256,
      template: o.template,
      seed: o.seed,
      maxNewTokens,
      checkpoint: label,
    }),
  );
  const journal = await openNeedleJournal(join(outDir, JOURNAL_FILE), settings);
  const resumed = cells.filter((c) => journal.done.has(cellKey(c))).length;
  if (resumed > 0) o.log(`resuming: ${resumed} of ${cells.length} cells already done (${join(outDir, JOURNAL_FILE)})`);

  const params = ckpt.params;
  const cfg = ckpt.dims;
  const engine = await createEngine(cfg, { workers: o.workers });
  const trialsLeft = cells.filter((c) => !journal.done.has(cellKey(c))).reduce((s, c) => s + c.trials, 0);
  let trialsRun = 0;
  let cellsDone = resumed;
  const runStart = Date.now();
  const records = await runNeedleGrid({
    checkpoint: label,
    cells,
    done: journal.done,
    seed: o.seed,
    maxNewTokens,
    tokenizer,
    haystack,
    sentenceEnds: sentenceEndIds(tokenizer),
    template: TEMPLATES[o.template],
    generate: async (prompt, n) => greedyDecodeFrom(params, cfg, await engine.prefill(params, prompt), n, { eosId: tokenizer.eosId }),
    onCell: async (r, answers) => {
      await journal.append(NeedleEvalRecord.parse(r), answers);
      cellsDone += 1;
      trialsRun += r.trials;
      const s = (Date.now() - runStart) / 1000;
      o.log(
        `needle ${cellsDone}/${cells.length}: ${r.needles} needle(s), ${r.contextTokens} tokens, depth ${Math.round(r.depth * 100)}%: ${r.correct}/${r.trials}` +
          ` | ${(s / trialsRun).toFixed(1)} s/trial | ETA ${Math.round((s / trialsRun) * (trialsLeft - trialsRun))}s`,
      );
    },
  }).finally(() => engine.close());
  const json = join(outDir, "needle.json");
  const html = join(outDir, "needle.html");
  await writeFileAtomic(json, JSON.stringify(records, null, 2) + "\n");
  await writeFileAtomic(html, renderNeedleHeatmap(`needle in a haystack (${o.template} template): ${label}`, records));
  return { records, json, html, resumed, seconds: (Date.now() - started) / 1000 };
}

/** The accuracy grid as text: one table per needle count, depth down, context length across. */
export function needleGridTable(records: readonly NeedleEvalRecord[]): string {
  const lines: string[] = [];
  for (const count of [...new Set(records.map((r) => r.needles))]) {
    const rs = records.filter((r) => r.needles === count);
    const lengths = [...new Set(rs.map((r) => r.contextTokens))];
    const depths = [...new Set(rs.map((r) => r.depth))];
    lines.push(`${count} needle${count > 1 ? "s" : ""}: accuracy (rows: depth, columns: context tokens)`);
    lines.push(["depth".padEnd(7), ...lengths.map((l) => String(l).padStart(8))].join(""));
    for (const d of depths) {
      const cells = lengths.map((l) => (rs.find((r) => r.contextTokens === l && r.depth === d)?.accuracy ?? NaN).toFixed(2).padStart(8));
      lines.push([`${Math.round(d * 100)}%`.padEnd(7), ...cells].join(""));
    }
    const mean = rs.reduce((s, r) => s + r.accuracy, 0) / rs.length;
    lines.push(`mean ${mean.toFixed(3)}\n`);
  }
  return lines.join("\n");
}
