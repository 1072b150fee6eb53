/**
 * `lwm eval needle --checkpoint DIR --haystack FILE[,FILE…] [--lengths 1000,2000] [--depths 0,0.5,1]
 *   [--needles 1,2] [--trials N] [--max-new N] [--seed S] [--workers P] [--tokenizer tokenizer.json] [--out DIR] [--json]`
 *
 * LWM's needle-in-a-haystack test (lwm-spec §8) on a checkpoint folder written by `lwm train` (or any
 * Hugging Face Llama safetensors folder): each prompt goes through the onnxruntime ring in one pass
 * (prefill), then greedy decoding continues from its KV cache; a trial is correct when
 * the needle's 7-digit number appears in the answer. Prints the accuracy grid, writes
 * <out>/needle.json (NeedleEvalRecord[]) and <out>/needle.html (heat map).
 * Exit 0 done, 2 usage or I/O error.
 */
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "@lwm/core";
import { NeedleEvalRecord } from "@lwm/schemas";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { createEngine, greedyDecodeFrom, loadCheckpoint, renderNeedleHeatmap, runNeedleGrid, sentenceEndIds, type LoadedCheckpoint } from "@lwm/trainer";
import { z } from "zod";
import { errorMessage, isSystemError, parseCommandLine, usageError } from "../args.js";

const USAGE =
  "usage: lwm eval needle --checkpoint DIR --haystack FILE[,FILE…] [--lengths 1000,2000] [--depths 0,0.5,1]\n" +
  "                       [--needles 1,2] [--trials N] [--max-new N] [--seed S] [--workers P] [--tokenizer tokenizer.json]\n" +
  "                       [--out DIR] [--json]\n" +
  '  --haystack  .txt files, or .jsonl with a "text" field per line (PG-19 style), concatenated in order\n' +
  "  --lengths   prompt lengths in tokens (default: ¼, ½ and all of the checkpoint's trained length)\n" +
  "  --depths    needle depths as fractions 0..1 (default 0,0.25,0.5,0.75,1)\n" +
  "  --needles   needle counts; with N > 1 every needle is asked for (default 1)\n" +
  "  --workers   ring-attention workers for the prompt's forward pass (default 1)\n";

class UsageError extends Error {}

/** The value of a flag that takes one number, e.g. `--trials 3`; a list or a bad number is a UsageError. */
function oneNumber(flag: string, text: string, check: (n: number) => boolean, what: string): number {
  const n = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag}: expected ${what}, got "${text}"`);
  return n;
}

/** The values of a flag that takes a comma-separated list, e.g. `--depths 0,0.5,1`. */
function numberList(flag: string, text: string, check: (n: number) => boolean, what: string): number[] {
  const out = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (out.length === 0 || out.some((n) => !Number.isFinite(n) || !check(n)))
    throw new UsageError(`--${flag}: expected a comma-separated list of ${what}, got "${text}"`);
  return out;
}

const JsonlLine = z.object({ text: z.string() });

/** The haystack text: files in order, joined by blank lines, stopping once `chars` are collected. */
async function readHaystack(files: readonly string[], chars: number): Promise<string> {
  const parts: string[] = [];
  let have = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new UsageError(`--haystack ${file}: ${isSystemError(err) && err.code === "ENOENT" ? "no such file" : errorMessage(err)}`);
    }
    const docs = file.endsWith(".jsonl")
      ? text
          .split("\n")
          .filter((l) => l.trim())
          .map((line, i) => {
            let json: unknown;
            try {
              json = JSON.parse(line);
            } catch {
              throw new UsageError(`--haystack ${file}: line ${i + 1} is not JSON`);
            }
            const r = JsonlLine.safeParse(json);
            if (!r.success) throw new UsageError(`--haystack ${file}: line ${i + 1}: needs a string "text" field`);
            return r.data.text;
          })
      : [text];
    for (const d of docs) {
      parts.push(d);
      have += d.length;
      if (have >= chars) return parts.join("\n\n");
    }
  }
  return parts.join("\n\n");
}

function gridTable(records: readonly NeedleEvalRecord[]): string {
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

async function needle(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "eval",
    USAGE,
    argv,
    {
      checkpoint: { type: "string" },
      haystack: { type: "string", multiple: true },
      lengths: { type: "string" },
      depths: { type: "string" },
      needles: { type: "string" },
      trials: { type: "string" },
      "max-new": { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      tokenizer: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean" },
    },
    { count: 0, what: "no positional arguments" },
  );
  if (typeof cl === "number") return cl;
  const { values } = cl;
  if (!values.checkpoint) throw new UsageError("--checkpoint DIR is required");
  const haystackFiles = (values.haystack ?? []).flatMap((h) => h.split(",")).filter(Boolean);
  if (haystackFiles.length === 0) throw new UsageError("--haystack FILE is required");
  const isInt = (n: number) => Number.isInteger(n) && n > 0;
  const trials = values.trials === undefined ? 3 : oneNumber("trials", values.trials, isInt, "a positive integer");
  const maxNew = values["max-new"] === undefined ? undefined : oneNumber("max-new", values["max-new"], isInt, "a positive integer");
  const seed = values.seed === undefined ? 0 : oneNumber("seed", values.seed, Number.isInteger, "an integer");
  const workers = values.workers === undefined ? 1 : oneNumber("workers", values.workers, isInt, "a positive integer");
  const depths = values.depths === undefined ? [0, 0.25, 0.5, 0.75, 1] : numberList("depths", values.depths, (n) => n >= 0 && n <= 1, "fractions in [0, 1]");
  const needleCounts = values.needles === undefined ? [1] : numberList("needles", values.needles, (n) => isInt(n) && n <= 20, "needle counts 1..20");

  let ckpt: LoadedCheckpoint;
  try {
    ckpt = await loadCheckpoint(values.checkpoint);
  } catch (err) {
    throw new UsageError(`--checkpoint ${values.checkpoint}: ${errorMessage(err)}`);
  }
  const lengths =
    values.lengths === undefined
      ? [...new Set([Math.floor(ckpt.seqLen / 4), Math.floor(ckpt.seqLen / 2), ckpt.seqLen])]
      : numberList("lengths", values.lengths, isInt, "positive token counts");
  const maxLength = Math.max(...lengths);
  if (maxLength > ckpt.seqLen) process.stderr.write(`lwm eval: warning: lengths up to ${maxLength} exceed the checkpoint's trained length ${ckpt.seqLen}\n`);

  let tokenizer: Tokenizer;
  try {
    tokenizer = await loadTokenizer(values.tokenizer);
  } catch (err) {
    throw new UsageError(`tokenizer: ${errorMessage(err)}`);
  }
  if (tokenizer.vocabSize > ckpt.dims.vocabSize) {
    throw new UsageError(
      `the tokenizer has ${tokenizer.vocabSize} ids but the checkpoint's vocab_size is ${ckpt.dims.vocabSize} (pass --tokenizer for the one it was trained with)`,
    );
  }
  const haystackText = await readHaystack(haystackFiles, maxLength * 8 + 10_000);
  const haystack = await tokenizer.encode(haystackText);

  const params = ckpt.params;
  const cfg = ckpt.dims;
  const label = resolve(values.checkpoint);
  const outDir = values.out ?? join(dirname(label), `${basename(label)}-needle`);
  const started = Date.now();
  const cells = needleCounts.length * lengths.length * depths.length;
  let done = 0;
  const engine = await createEngine(cfg, { workers });
  const records = await runNeedleGrid({
    checkpoint: label,
    lengths,
    depths,
    needleCounts,
    trials,
    seed,
    maxNewTokens: maxNew ?? 16 + 12 * Math.max(...needleCounts),
    tokenizer,
    haystack,
    sentenceEnds: sentenceEndIds(tokenizer),
    generate: async (prompt, n) => greedyDecodeFrom(params, cfg, await engine.prefill(params, prompt), n, { eosId: tokenizer.eosId }),
    onCell: (r) => {
      done += 1;
      const s = (Date.now() - started) / 1000;
      process.stderr.write(
        `needle ${done}/${cells}: ${r.needles} needle(s), ${r.contextTokens} tokens, depth ${Math.round(r.depth * 100)}%: ${r.correct}/${r.trials} | ETA ${Math.round((s / done) * (cells - done))}s\n`,
      );
    },
  }).finally(() => engine.close());
  for (const r of records) NeedleEvalRecord.parse(r);
  await mkdir(outDir, { recursive: true });
  const jsonPath = join(outDir, "needle.json");
  const htmlPath = join(outDir, "needle.html");
  await writeFileAtomic(jsonPath, JSON.stringify(records, null, 2) + "\n");
  await writeFileAtomic(htmlPath, renderNeedleHeatmap(`needle in a haystack: ${label}`, records));
  if (values.json) process.stdout.write(JSON.stringify({ records, json: jsonPath, html: htmlPath }) + "\n");
  else process.stdout.write(`${gridTable(records)}wrote ${jsonPath} and ${htmlPath}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) return usageError("eval", `name an evaluation\n${USAGE}`);
  if (sub === "--help" || sub === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== "needle") {
    process.stderr.write(`lwm eval: unknown evaluation "${sub}" (available: needle)\n${USAGE}`);
    return 2;
  }
  try {
    return await needle(rest);
  } catch (err) {
    // RangeError: a grid cell that cannot be laid out (context too short for the template, haystack too short).
    if (err instanceof UsageError || err instanceof RangeError) return usageError("eval", err.message);
    throw err;
  }
}
