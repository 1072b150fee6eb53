/**
 * Encoder benchmark: the aMUSEd-shaped VQGAN encoder (random fp32 weights under diffusers' names,
 * 256×256 frames) through VqganModel.encode against a bare onnxruntime-node loop over the same
 * model file and batches, against PyTorch CPU running the same layers in float32 (diffusers' module
 * names, bench/encoder_torch.py; when $LWM_PYTHON has torch), and the fraction of this machine's
 * measured MatMul/Conv peak it reaches. Rounds rotate the order of the sides; medians are reported.
 * Also the patch k-means model's encoder (the committed sample model) on the same frames.
 *
 *   LWM_PYTHON=… npm run bench -w @lwm/vqgan [-- --frames 4 --batch 2 --threads 2 --rounds 3]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { GraphBuilder, ints } from "@lwm/onnx";
import { AMUSED_CONFIG, ENCODER_FILE, VqganModel, encodeNpy } from "../src/index.js";
import { encoderPlan } from "../src/names.js";
import { buildRandomAmusedModel, prng } from "../src/test-helpers/random-weights.js";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "4" },
    batch: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
  },
});
const frames = Number(values.frames),
  batch = Number(values.batch),
  threads = Number(values.threads),
  rounds = Number(values.rounds);
const S = 256;

/** Multiply-adds ×2 of every conv and the codebook search for one S×S frame. */
function encoderGflop(): number {
  const c = AMUSED_CONFIG;
  let flop = 0,
    side = S;
  const conv = (cin: number, cout: number, k: number, out: number) => (flop += 2 * cin * cout * k * k * out * out);
  conv(3, c.block_out_channels[0]!, 3, side);
  for (const b of encoderPlan(c)) {
    for (let j = 0; j < c.layers_per_block; j++) {
      const cin = j === 0 ? b.cin : b.cout;
      conv(cin, b.cout, 3, side);
      conv(b.cout, b.cout, 3, side);
      if (cin !== b.cout) conv(cin, b.cout, 1, side);
    }
    if (b.down) conv(b.cout, b.cout, 3, (side /= 2));
  }
  const top = c.block_out_channels.at(-1)!;
  for (let r = 0; r < 4; r++) conv(top, top, 3, side);
  conv(top, c.latent_channels, 3, side);
  conv(c.latent_channels, 64, 1, side);
  flop += 2 * side * side * 64 * c.num_vq_embeddings;
  return flop / 1e9;
}

async function timeRuns(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn(); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await fn();
  return (performance.now() - t0) / 1000 / reps;
}

/** GFLOP/s of one big MatMul and one 3×3 Conv in onnxruntime with the same thread count. */
async function measuredPeak(): Promise<{ matmul: number; conv: number }> {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const mm = new GraphBuilder("mm");
  mm.output("y", mm.matmul(mm.input("a", [1024, 1024]), mm.input("b", [1024, 1024])));
  const ms = await ort.InferenceSession.create(mm.toBytes(), opts);
  const a = new ort.Tensor("float32", new Float32Array(1024 * 1024).fill(0.5), [1024, 1024]);
  const tm = await timeRuns(() => ms.run({ a, b: a }), 5);
  const cv = new GraphBuilder("conv");
  cv.output("y", cv.op("Conv", [cv.input("x", [1, 256, 64, 64]), cv.input("w", [256, 256, 3, 3])], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }));
  const cs = await ort.InferenceSession.create(cv.toBytes(), opts);
  const x = new ort.Tensor("float32", new Float32Array(256 * 64 * 64).fill(0.5), [1, 256, 64, 64]);
  const w = new ort.Tensor("float32", new Float32Array(256 * 256 * 9).fill(0.01), [256, 256, 3, 3]);
  const tc = await timeRuns(() => cs.run({ x, w }), 3);
  return { matmul: (2 * 1024 ** 3) / tm / 1e9, conv: (2 * 256 * 256 * 9 * 64 * 64) / tc / 1e9 };
}

type Side = "ours" | "bare" | "torch";
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** bench/encoder_torch.py in its own process, loaded once; each run() encodes the same batches. */
async function startTorchPeer(
  weights: string,
  input: Uint8Array,
): Promise<{ run: () => Promise<number>; stop: () => void; codes: number[]; version: string } | null> {
  const python = process.env.LWM_PYTHON;
  if (!python) return null;
  const framesPath = join(dir, "frames.npy");
  await writeFile(framesPath, encodeNpy(input, [batch, S, S, 3]));
  const child = spawn(python, [join(__dirname, "encoder_torch.py"), weights, framesPath, "minus1to1", String(threads), String(Math.ceil(frames / batch))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error("the PyTorch peer exited");
    return JSON.parse(value as string) as { ready?: boolean; codes?: number[]; torch?: string; seconds?: number };
  };
  let ready;
  try {
    ready = await next();
  } catch {
    return null;
  }
  return {
    codes: ready.codes!,
    version: ready.torch!,
    run: async () => {
      child.stdin!.write("run\n");
      return (await next()).seconds!;
    },
    stop: () => child.stdin!.end(),
  };
}

const dir = await mkdtemp(join(tmpdir(), "lwm-vqgan-bench-"));
try {
  const rand = prng(5);
  const input = Uint8Array.from({ length: batch * S * S * 3 }, () => Math.floor(rand() * 256));
  const batches = Math.ceil(frames / batch);
  console.log(`threads ${threads}, ${batches} batches of ${batch} frames (${S}×${S}), encoder ≈ ${encoderGflop().toFixed(0)} GFLOP per frame; load ${load()}`);

  await buildRandomAmusedModel(dir, 1);
  const model = await VqganModel.load(join(dir, "m"), { threads });
  const bare = await ort.InferenceSession.create(join(dir, "m", ENCODER_FILE), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const tensor = new ort.Tensor("uint8", input, [batch, S, S, 3]);
  const torchPeer = await startTorchPeer(join(dir, "w"), input);
  const times: Record<Side, number[]> = { ours: [], bare: [], torch: [] };
  const peaks: { conv: number; matmul: number }[] = [];
  const sides: Side[] = torchPeer ? ["ours", "bare", "torch"] : ["ours", "bare"];
  await model.encode(input, batch); // warm-up
  await bare.run({ frames: tensor });
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, k) => sides[(k + r) % sides.length]!);
    for (const side of order) {
      const t0 = performance.now();
      if (side === "ours") for (let b = 0; b < batches; b++) await model.encode(input, batch);
      else if (side === "bare") for (let b = 0; b < batches; b++) await bare.run({ frames: tensor });
      else {
        times.torch.push(await torchPeer!.run());
        continue;
      }
      times[side].push((performance.now() - t0) / 1000);
    }
    peaks.push(await measuredPeak());
    const fps = (side: Side) => ((batches * batch) / times[side].at(-1)!).toFixed(3);
    console.log(
      `round ${r + 1} (${order.join(", ")}): ours ${fps("ours")}, bare ${fps("bare")}${torchPeer ? `, torch ${fps("torch")}` : ""} frames/s; peak Conv ${peaks.at(-1)!.conv.toFixed(1)}, MatMul ${peaks.at(-1)!.matmul.toFixed(1)} GFLOP/s; load ${load()}`,
    );
  }
  const ourCodes = await model.encode(input, batch);
  await model.release();
  torchPeer?.stop();
  const fps = (side: Side) => (batches * batch) / median(times[side]);
  const gflops = fps("ours") * encoderGflop();
  const peakConv = median(peaks.map((p) => p.conv)),
    peakMatmul = median(peaks.map((p) => p.matmul));
  console.log(`measured peak (median of ${rounds}): Conv 3×3 256→256 @64² ${peakConv.toFixed(1)} GFLOP/s, MatMul 1024³ ${peakMatmul.toFixed(1)} GFLOP/s`);
  // Per-round ratios compare sides that ran minutes apart at most; on a shared host they are steadier than a ratio of medians.
  const roundRatio = (a: Side, b: Side) => median(times[a].map((t, r) => times[b][r]! / t)).toFixed(2);
  console.log(
    `aMUSEd encoder (medians): ours ${fps("ours").toFixed(3)} frames/s, bare onnxruntime loop ${fps("bare").toFixed(3)} frames/s, ratio ${(fps("ours") / fps("bare")).toFixed(2)} (median of per-round ratios ${roundRatio("ours", "bare")})`,
  );
  if (torchPeer) {
    const same = ourCodes.reduce((n, c, k) => n + (c === torchPeer.codes[k] ? 1 : 0), 0);
    console.log(
      `  PyTorch ${torchPeer.version} CPU (float32, ${threads} threads): ${fps("torch").toFixed(3)} frames/s; ours / PyTorch ${(fps("ours") / fps("torch")).toFixed(2)} (per round ${roundRatio("ours", "torch")}); codes equal to ours ${same}/${ourCodes.length}`,
    );
  } else console.log("  PyTorch peer skipped: $LWM_PYTHON with torch and safetensors not found");
  console.log(
    `  ${gflops.toFixed(1)} GFLOP/s = ${((100 * gflops) / peakConv).toFixed(0)} % of the in-run Conv probe, ${((100 * gflops) / peakMatmul).toFixed(0)} % of the in-run MatMul probe`,
  );

  const sample = await VqganModel.load(resolve(__dirname, "../../../datasets/sample/vqgan"), { threads });
  const big = Uint8Array.from({ length: 32 * S * S * 3 }, () => Math.floor(rand() * 256));
  const tp = await timeRuns(() => sample.encode(big, 32), 3);
  console.log(`sample patch model (datasets/sample/vqgan, ${sample.settings.codebookSize} codes): ${(32 / tp).toFixed(0)} frames/s`);
  await sample.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}
