/**
 * int8 benchmark: the aMUSEd-shaped encoder (random fp32 weights under diffusers' names) against an
 * int8 variant made by onnxruntime's static quantization (bench/int8_quantize.py: QDQ, per-channel
 * int8 conv weights, uint8 activations calibrated on frames of ../shared/data; the codebook search
 * stays float32). On the shared frames (every image, the first and last frame of every clip) both
 * encoders run batch by batch, alternating which goes first; reported: frames/s of each, the
 * speed-up, and the share of codes identical to fp32. Needs $LWM_PYTHON with onnxruntime.
 *
 *   LWM_PYTHON=… npx vite-node bench/int8.bench.ts [-- --threads 2 --batch 2 --model DIR]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { decodeAll } from "@lwm/video";
import { ENCODER_FILE, encodeNpy } from "../src/index.js";
import { buildRandomAmusedModel } from "../src/test-helpers/random-weights.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "2" },
    model: { type: "string" },
    shared: { type: "string", default: resolve(__dirname, "../../../../shared/data") },
  },
});
const threads = Number(values.threads),
  batch = Number(values.batch);
const python = process.env.LWM_PYTHON;
if (!python || !existsSync(values.shared!)) {
  console.log(`skipped: needs $LWM_PYTHON (onnxruntime) and ${values.shared}`);
  process.exit(0);
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const FRAME = 256 * 256 * 3;

async function framesOf(files: string[], pick: (file: string) => Promise<Uint8Array[]>): Promise<Uint8Array> {
  const all: Uint8Array[] = [];
  for (const f of files) all.push(...(await pick(f)));
  const out = new Uint8Array(all.length * FRAME);
  all.forEach((f, k) => out.set(f, k * FRAME));
  return out;
}

const dir = await mkdtemp(join(tmpdir(), "lwm-vqgan-int8-"));
try {
  let model = values.model;
  model ??= await buildRandomAmusedModel(dir, 1);
  const videos = readdirSync(join(values.shared!, "videos"))
    .filter((f) => /\.(mp4|webm)$/.test(f))
    .map((f) => join(values.shared!, "videos", f));
  const images = readdirSync(join(values.shared!, "images"))
    .filter((f) => /\.(png|jpe?g)$/.test(f))
    .map((f) => join(values.shared!, "images", f));
  // Calibration: the middle frame of every clip; evaluation: every image, first and last frame of every clip.
  const calib = await framesOf(videos, async (f) => [(await decodeAll(f, { sampling: { frames: 3 } }))[1]!.rgb]);
  const evalFrames = await framesOf([...images, ...videos], async (f) => (await decodeAll(f, { sampling: { frames: 2 } })).map((x) => x.rgb));
  const nEval = evalFrames.length / FRAME;
  await writeFile(join(dir, "calib.npy"), encodeNpy(calib, [calib.length / FRAME, 256, 256, 3]));
  const int8 = join(model, "encoder.int8.onnx");
  console.log(`quantizing (${calib.length / FRAME} calibration frames); load ${load()}`);
  console.log(
    execFileSync(python, [join(__dirname, "int8_quantize.py"), join(model, ENCODER_FILE), join(dir, "calib.npy"), int8], { encoding: "utf8" }).trim(),
  );

  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" };
  const sessions = { fp32: await ort.InferenceSession.create(join(model, ENCODER_FILE), opts), int8: await ort.InferenceSession.create(int8, opts) };
  const seconds = { fp32: 0, int8: 0 };
  const codes = { fp32: [] as number[], int8: [] as number[] };
  for (let b = 0, k = 0; k < nEval; b++, k += batch) {
    const n = Math.min(batch, nEval - k);
    const tensor = new ort.Tensor("uint8", evalFrames.subarray(k * FRAME, (k + n) * FRAME), [n, 256, 256, 3]);
    if (b === 0) for (const s of Object.values(sessions)) await s.run({ frames: tensor }); // warm-up
    for (const side of b % 2 ? (["int8", "fp32"] as const) : (["fp32", "int8"] as const)) {
      const t0 = performance.now();
      const out = await sessions[side].run({ frames: tensor });
      seconds[side] += (performance.now() - t0) / 1000;
      codes[side].push(...(out.codes!.data as Uint16Array));
    }
    console.log(`batch ${b + 1}: fp32 ${seconds.fp32.toFixed(1)} s, int8 ${seconds.int8.toFixed(1)} s so far; load ${load()}`);
  }
  const same = codes.fp32.reduce((s, c, k) => s + (c === codes.int8[k] ? 1 : 0), 0);
  const framesSame = Array.from({ length: nEval }, (_, f) => codes.fp32.slice(f * 256, (f + 1) * 256).every((c, k) => c === codes.int8[f * 256 + k])).filter(
    Boolean,
  ).length;
  console.log(
    `${nEval} shared frames, threads ${threads}: fp32 ${(nEval / seconds.fp32).toFixed(3)} frames/s, int8 ${(nEval / seconds.int8).toFixed(3)} frames/s, speed-up ${(seconds.fp32 / seconds.int8).toFixed(2)}×`,
  );
  console.log(
    `codes identical to fp32: ${same}/${codes.fp32.length} (${((100 * same) / codes.fp32.length).toFixed(1)} %); frames with every code identical: ${framesSame}/${nEval}`,
  );
  for (const s of Object.values(sessions)) await s.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}
