/**
 * `lwm eval needle --checkpoint DIR --haystack FILE[,FILE…] [--lengths 1000,2000] [--depths 0,0.5,1]
 *   [--needles 1,2:8192] [--trials N|LEN:N,…] [--template lwm|recall] [--max-new N] [--seed S] [--workers P]
 *   [--tokenizer tokenizer.json] [--out DIR] [--json]`
 *
 * LWM's needle-in-a-haystack test (lwm-spec §8) on a checkpoint folder written by `lwm train` (or any
 * Hugging Face Llama safetensors folder). This file only parses flags; the evaluation is
 * @lwm/trainer's `runNeedleEval` (trainer/src/eval). Prints the accuracy grid, writes
 * <out>/needle.json (NeedleEvalRecord[]), <out>/needle.html (heat map) and the resume journal
 * <out>/needle.cells.jsonl: a rerun with the same settings continues an interrupted evaluation.
 * Exit 0 done, 2 usage or I/O error.
 */
import { NeedleEvalInputError, needleGridTable, runNeedleEval, TEMPLATE_NAMES, type NeedleCount, type TemplateName } from "@lwm/trainer";
import { parseCommandLine, usageError } from "../args.js";

const USAGE =
  "usage: lwm eval needle --checkpoint DIR --haystack FILE[,FILE…] [--lengths 1000,2000] [--depths 0,0.5,1]\n" +
  "                       [--needles 1,2:8192] [--trials N|LEN:N,…] [--template lwm|recall] [--max-new N] [--seed S]\n" +
  "                       [--workers P] [--tokenizer tokenizer.json] [--out DIR] [--json]\n" +
  '  --haystack  .txt files, or .jsonl with a "text" field per line (PG-19 style), concatenated in order\n' +
  "  --lengths   prompt lengths in tokens (default: ¼, ½ and all of the checkpoint's trained length)\n" +
  "  --depths    needle depths as fractions 0..1 (default 0,0.25,0.5,0.75,1)\n" +
  "  --needles   needle counts; with N > 1 every needle is asked for; COUNT:LEN asks COUNT only up to LEN tokens (default 1)\n" +
  "  --trials    trials per cell (default 3); LEN:N,… sets it per length, a bare N is the rest's (e.g. 20,4096:5,16384:5)\n" +
  "  --template  lwm: LWM's needle sentence (default); recall: the training retrieval task's wording, on evaluation values\n" +
  "  --out       output folder (default <checkpoint>-needle); rerunning into it skips the cells already done\n" +
  "  --workers   ring-attention workers for the prompt's forward pass (default 1)\n";

const UsageError = NeedleEvalInputError;

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

/** `--trials 20,4096:5`: the default count and the per-length counts. */
function trialsSpec(text: string): { trials: number; byLength: Map<number, number> } {
  const byLength = new Map<number, number>();
  const bare: number[] = [];
  const isInt = (n: number) => Number.isInteger(n) && n > 0;
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const [a, b] = item.split(":");
    if (b === undefined) bare.push(oneNumber("trials", a as string, isInt, "a positive integer"));
    else byLength.set(oneNumber("trials", a as string, isInt, "LEN:N with a positive length"), oneNumber("trials", b, isInt, "LEN:N with a positive count"));
  }
  if (items.length === 0 || bare.length > 1) throw new UsageError(`--trials: expected N, LEN:N items, or both with one N at most, got "${text}"`);
  return { trials: bare[0] ?? 3, byLength };
}

/** `--needles 1,2:8192`: needle counts, each optionally limited to lengths up to LEN. */
function needlesSpec(text: string): NeedleCount[] {
  const isInt = (n: number) => Number.isInteger(n) && n > 0;
  const out = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [a, b] = item.split(":");
      const count = oneNumber("needles", a as string, (n) => isInt(n) && n <= 20, "needle counts 1..20, each optionally COUNT:LEN");
      return b === undefined ? { count } : { count, maxLength: oneNumber("needles", b, isInt, "COUNT:LEN with a positive length") };
    });
  if (out.length === 0) throw new UsageError(`--needles: expected a comma-separated list of needle counts, got "${text}"`);
  return out;
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
      template: { type: "string" },
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
  const { trials, byLength } = values.trials === undefined ? { trials: 3, byLength: new Map<number, number>() } : trialsSpec(values.trials);
  const maxNew = values["max-new"] === undefined ? undefined : oneNumber("max-new", values["max-new"], isInt, "a positive integer");
  const seed = values.seed === undefined ? 0 : oneNumber("seed", values.seed, Number.isInteger, "an integer");
  const workers = values.workers === undefined ? 1 : oneNumber("workers", values.workers, isInt, "a positive integer");
  const depths = values.depths === undefined ? [0, 0.25, 0.5, 0.75, 1] : numberList("depths", values.depths, (n) => n >= 0 && n <= 1, "fractions in [0, 1]");
  const needleCounts = values.needles === undefined ? [{ count: 1 }] : needlesSpec(values.needles);
  const lengths = values.lengths === undefined ? undefined : numberList("lengths", values.lengths, isInt, "positive token counts");
  const template = (values.template ?? "lwm") as TemplateName;
  if (!TEMPLATE_NAMES.includes(template)) throw new UsageError(`--template: expected one of ${TEMPLATE_NAMES.join(", ")}, got "${values.template}"`);

  const result = await runNeedleEval({
    checkpoint: values.checkpoint,
    haystackFiles,
    lengths,
    depths,
    needleCounts,
    trials,
    trialsByLength: byLength,
    maxNewTokens: maxNew,
    seed,
    workers,
    template,
    tokenizer: values.tokenizer,
    out: values.out,
    log: (line) => process.stderr.write(`lwm eval: ${line}\n`),
  });
  const { records, json, html } = result;
  if (values.json) process.stdout.write(JSON.stringify({ records, json, html, resumed: result.resumed, seconds: result.seconds }) + "\n");
  else process.stdout.write(`${needleGridTable(records)}wrote ${json} and ${html} (${result.seconds.toFixed(0)} s)\n`);
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
