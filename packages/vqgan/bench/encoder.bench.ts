/**
 * Encoder benchmark: the aMUSEd-shaped VQGAN encoder (random fp32 weights under diffusers' names,
 * 256×256 frames) through VqganModel.encode against a bare onnxruntime-node loop over the same
 * model file and batches, and the fraction of this machine's measured MatMul/Conv peak it reaches.
 * Also the patch k-means model's encoder (the committed sample model) on the same frames.
 *
 *   npm run bench -w @lwm/vqgan [-- --frames 4 --batch 2 --threads 2]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { GraphBuilder, ints } from "@lwm/onnx";
import { AMUSED_CONFIG, ENCODER_FILE, VqganModel, buildVqModel } from "../src/index.js";
import { encoderPlan } from "../src/names.js";
import { prng, writeRandomVqModel } from "../src/test-helpers/random-weights.js";

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

const dir = await mkdtemp(join(tmpdir(), "lwm-vqgan-bench-"));
try {
  const rand = prng(5);
  const input = Uint8Array.from({ length: batch * S * S * 3 }, () => Math.floor(rand() * 256));
  const batches = Math.ceil(frames / batch);
  console.log(`threads ${threads}, ${batches} batches of ${batch} frames (${S}×${S}), encoder ≈ ${encoderGflop().toFixed(0)} GFLOP per frame`);

  await writeRandomVqModel(join(dir, "w"), AMUSED_CONFIG, 1);
  await buildVqModel(join(dir, "w"), join(dir, "m"));
  const model = await VqganModel.load(join(dir, "m"), { threads });
  const bare = await ort.InferenceSession.create(join(dir, "m", ENCODER_FILE), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const tensor = new ort.Tensor("uint8", input, [batch, S, S, 3]);
  // Rounds alternate the two sides and the peak probes; the best of each is kept (the host is shared).
  let ours = Infinity,
    plain = Infinity,
    peakConv = 0,
    peakMatmul = 0;
  for (let r = 0; r < rounds; r++) {
    ours = Math.min(
      ours,
      await timeRuns(async () => {
        for (let b = 0; b < batches; b++) await model.encode(input, batch);
      }, 1),
    );
    plain = Math.min(
      plain,
      await timeRuns(async () => {
        for (let b = 0; b < batches; b++) await bare.run({ frames: tensor });
      }, 1),
    );
    const peak = await measuredPeak();
    peakConv = Math.max(peakConv, peak.conv);
    peakMatmul = Math.max(peakMatmul, peak.matmul);
    console.log(
      `round ${r + 1}: ours ${((batches * batch) / ours).toFixed(3)}, bare ${((batches * batch) / plain).toFixed(3)} frames/s (best so far); peak Conv ${peak.conv.toFixed(1)}, MatMul ${peak.matmul.toFixed(1)} GFLOP/s`,
    );
  }
  await model.release();
  const fpsOurs = (batches * batch) / ours,
    fpsBare = (batches * batch) / plain;
  const gflops = fpsOurs * encoderGflop();
  console.log(`measured peak (best of ${rounds}): Conv 3×3 256→256 @64² ${peakConv.toFixed(1)} GFLOP/s, MatMul 1024³ ${peakMatmul.toFixed(1)} GFLOP/s`);
  console.log(
    `aMUSEd encoder: ours ${fpsOurs.toFixed(3)} frames/s, bare onnxruntime loop ${fpsBare.toFixed(3)} frames/s, ratio ${(fpsOurs / fpsBare).toFixed(2)}`,
  );
  console.log(
    `  ${gflops.toFixed(1)} GFLOP/s = ${((100 * gflops) / peakConv).toFixed(0)} % of the Conv peak, ${((100 * gflops) / peakMatmul).toFixed(0)} % of the MatMul peak`,
  );

  const sample = await VqganModel.load(resolve(__dirname, "../../../datasets/sample/vqgan"), { threads });
  const big = Uint8Array.from({ length: 32 * S * S * 3 }, () => Math.floor(rand() * 256));
  const tp = await timeRuns(() => sample.encode(big, 32), 3);
  console.log(`sample patch model (datasets/sample/vqgan, ${sample.settings.codebookSize} codes): ${(32 / tp).toFixed(0)} frames/s`);
  await sample.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}
