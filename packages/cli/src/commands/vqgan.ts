/**
 * `lwm vqgan build|fit|encode|decode`: the vision tokenizer (lwm-spec §1.1).
 *   build   a diffusers VQModel folder (aMUSEd's VQGAN) → ONNX encoder/decoder model folder
 *   fit     media files/folders → the small patch-codebook model the project trains itself
 *   encode  media → codes .npy (uint16 [frames, 256]) + <out>.frames.json (timestamps)
 *   decode  codes .npy → PNG contact sheet
 * Exit 0 done, 1 the media could not be used, 2 usage, config or I/O error.
 */
import { parseArgs } from "node:util";
import { ConfigError, writeJsonAtomic } from "@lwm/core";
import { MediaError } from "@lwm/video";
import { FIT_DEFAULTS, VqganModel, buildVqModel, encodeMedia, fitPatchModel, readCodesNpy, writeContactSheet, writeNpy, type PixelRange } from "@lwm/vqgan";
import { errorMessage, isSystemError, parseCommandLine, usageError, wholeNumber } from "../args.js";

const USAGE =
  "usage: lwm vqgan build --weights <diffusers vqvae dir> --out <model dir> [--pixel-range minus1to1|zero1]\n" +
  "       lwm vqgan fit <media|folder>… --out <model dir> [--codes 4096] [--fps 1] [--max-frames-per-clip 30]\n" +
  "                     [--iterations 15] [--seed 0] [--threads 2] [--json]\n" +
  "       lwm vqgan encode <media> --model <dir> [--fps F | --frames N] [--start S --end E] [--max-frames N]\n" +
  "                     [--batch 8] [--threads 2] --out <codes.npy> [--json]\n" +
  "       lwm vqgan decode <codes.npy> --model <dir> --out <sheet.png> [--threads 2]\n" +
  "  --pixel-range  what the encoder feeds the network: minus1to1 = x/127.5 − 1 (LWM, default), zero1 = x/255 (diffusers' aMUSEd pipeline)\n";

class UsageError extends Error {}

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = wholeNumber(text);
  if (n === null || n === 0) throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
  return n;
}
function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number, got "${text}"`);
  return n;
}

async function build(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "vqgan build",
    USAGE,
    argv,
    { weights: { type: "string" }, out: { type: "string" }, "pixel-range": { type: "string" } },
    { count: 0, what: "no positional arguments" },
  );
  if (typeof cl === "number") return cl;
  const { weights, out } = cl.values;
  const range = cl.values["pixel-range"] ?? "minus1to1";
  if (!weights || !out) throw new UsageError("--weights and --out are required");
  if (range !== "minus1to1" && range !== "zero1") throw new UsageError(`--pixel-range must be minus1to1 or zero1, got "${range}"`);
  const settings = await buildVqModel(weights, out, { pixelRange: range as PixelRange });
  process.stdout.write(
    `built ${out}: ${settings.codebookSize} codes, 1 code per ${settings.downsample}×${settings.downsample} pixels, pixel range ${settings.pixelRange}\n`,
  );
  return 0;
}

async function fit(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string" },
      codes: { type: "string" },
      fps: { type: "string" },
      "max-frames-per-clip": { type: "string" },
      iterations: { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0 || !values.out) throw new UsageError("fit needs media files or folders and --out");
  const codes = positiveInt("codes", values.codes, FIT_DEFAULTS.codes);
  if (codes > 65536) throw new UsageError("--codes must be at most 65536 (codes are uint16)");
  const report = await fitPatchModel(positionals, values.out, {
    codes,
    fps: values.fps === undefined ? FIT_DEFAULTS.fps : positiveNumber("fps", values.fps),
    maxFramesPerClip: positiveInt("max-frames-per-clip", values["max-frames-per-clip"], FIT_DEFAULTS.maxFramesPerClip),
    iterations: positiveInt("iterations", values.iterations, FIT_DEFAULTS.iterations),
    seed: values.seed === undefined ? 0 : (wholeNumber(values.seed) ?? Number.NaN),
    threads: positiveInt("threads", values.threads, FIT_DEFAULTS.threads),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (values.json) process.stdout.write(JSON.stringify({ ...report, out: values.out }) + "\n");
  else {
    process.stdout.write(
      `fitted ${values.out}: ${report.codebookEntries} codes from ${report.frames} frames (${report.patches} patches, ${report.iterations} iterations, ${report.seconds.toFixed(0)} s)\n` +
        `PSNR ${report.psnrDb.toFixed(2)} dB; mean-colour palette baseline (same bits) ${report.baselinePsnrDb.toFixed(2)} dB\n`,
    );
  }
  return 0;
}

async function encode(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "vqgan encode",
    USAGE,
    argv,
    {
      model: { type: "string" },
      out: { type: "string" },
      fps: { type: "string" },
      frames: { type: "string" },
      start: { type: "string" },
      end: { type: "string" },
      "max-frames": { type: "string" },
      batch: { type: "string" },
      threads: { type: "string" },
      json: { type: "boolean" },
    },
    { count: 1, what: "one media file" },
  );
  if (typeof cl === "number") return cl;
  const v = cl.values;
  if (!v.model || !v.out) throw new UsageError("--model and --out are required");
  if (v.fps !== undefined && v.frames !== undefined) throw new UsageError("--fps and --frames are alternatives");
  const sampling =
    v.fps !== undefined ? { fps: positiveNumber("fps", v.fps) } : v.frames !== undefined ? { frames: positiveInt("frames", v.frames, 1) } : undefined;
  const window =
    v.start !== undefined || v.end !== undefined
      ? { startS: v.start === undefined ? 0 : Number(v.start), ...(v.end !== undefined ? { endS: positiveNumber("end", v.end) } : {}) }
      : undefined;
  const model = await VqganModel.load(v.model, { threads: positiveInt("threads", v.threads, 2) });
  try {
    const t0 = performance.now();
    const [clip] = await encodeMedia(model, [cl.positionals[0]!], {
      sampling,
      window,
      maxFrames: v["max-frames"] === undefined ? undefined : positiveInt("max-frames", v["max-frames"], 1),
      batch: positiveInt("batch", v.batch, 8),
    });
    const perFrame = model.gridSide() ** 2;
    const frames = clip!.codes.length / perFrame;
    await writeNpy(v.out, clip!.codes, [frames, perFrame]);
    const timesPath = v.out.replace(/\.npy$/, "") + ".frames.json";
    await writeJsonAtomic(timesPath, { file: clip!.file, model: v.model, pixelRange: model.settings.pixelRange, frames: clip!.frames });
    const seconds = (performance.now() - t0) / 1000;
    const summary = { out: v.out, frames: timesPath, count: frames, codesPerFrame: perFrame, seconds, framesPerSecond: frames / seconds };
    process.stdout.write(
      v.json
        ? JSON.stringify(summary) + "\n"
        : `${frames} frames → ${v.out} (uint16 [${frames}, ${perFrame}]), times in ${timesPath}; ${(frames / seconds).toFixed(1)} frames/s\n`,
    );
    return 0;
  } finally {
    await model.release();
  }
}

async function decode(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "vqgan decode",
    USAGE,
    argv,
    { model: { type: "string" }, out: { type: "string" }, threads: { type: "string" } },
    { count: 1, what: "one codes .npy file" },
  );
  if (typeof cl === "number") return cl;
  const { model: dir, out } = cl.values;
  if (!dir || !out) throw new UsageError("--model and --out are required");
  const { codes, frames, perFrame } = await readCodesNpy(cl.positionals[0]!);
  const model = await VqganModel.load(dir, { threads: positiveInt("threads", cl.values.threads, 2) });
  try {
    if (perFrame !== model.gridSide() ** 2) throw new UsageError(`${cl.positionals[0]}: ${perFrame} codes per frame, the model makes ${model.gridSide() ** 2}`);
    const over = codes.find((c) => c >= model.settings.codebookSize);
    if (over !== undefined) throw new UsageError(`${cl.positionals[0]}: code ${over} is outside the model's ${model.settings.codebookSize}-entry codebook`);
    const { rgb, size } = await model.decode(codes, frames);
    const { width, height } = await writeContactSheet(out, rgb, frames, size);
    process.stdout.write(`${frames} frames → ${out} (${width}×${height})\n`);
    return 0;
  } finally {
    await model.release();
  }
}

const SUB: Record<string, (argv: string[]) => Promise<number>> = { build, fit, encode, decode };

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "-h" || sub === "--help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const handler = sub === undefined ? undefined : SUB[sub];
  if (!handler) return usageError("vqgan", `expected build, fit, encode or decode\n${USAGE}`);
  try {
    return await handler(rest);
  } catch (err) {
    if (err instanceof MediaError) {
      process.stderr.write(`lwm vqgan ${sub}: ${err.message}\n`);
      return 1;
    }
    // isSystemError also covers parseArgs' ERR_PARSE_ARGS_* (unknown flag, missing value).
    if (err instanceof UsageError || err instanceof ConfigError || isSystemError(err)) {
      return usageError(`vqgan ${sub}`, errorMessage(err));
    }
    throw err;
  }
}
