/**
 * The vision step end to end (corpus → hash → probe → decode → VQ-encode → examples, cold codes
 * cache) in frames/s, against the bare pipeline of the same work: for each clip, the same ffmpeg
 * command line (planDecode's arguments) piping rgb24 into a bare onnxruntime-node loop over the
 * same encoder.onnx, batch and thread split, one clip after the other. Same model, same frames.
 *
 *   npm run bench -w @lwm/vision-step [-- --media DIR --captions FILE --fps 4 --max-frames 30 --threads 2 --reps 2]
 *
 * Default media: datasets/sample/media (clips.jsonl); `--media ../shared/data/videos` uses the
 * shared clips (their captions.jsonl). `--amused` builds an aMUSEd-shaped model (random weights,
 * LWM's real encoder: ≈ 217 GFLOP per frame) in place of `--model`; give it a few frames
 * (`--max-frames 2`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { runStep, silentLogger } from "@lwm/core";
import { Recipe } from "@lwm/schemas";
import { readStageExamples } from "@lwm/shards";
import { ffmpegBinaries, planDecode, ProbeCache } from "@lwm/video";
import { ENCODER_FILE } from "@lwm/vqgan";
// The benchmark-only model builder of @lwm/vqgan (random weights are never part of its API).
import { buildRandomAmusedModel } from "../../../packages/vqgan/src/test-helpers/random-weights.js";
import { splitThreads } from "../src/clip-encoder.js";
import { visionStep } from "../src/step.js";

const root = resolve(import.meta.dirname, "../../..");
const { values } = parseArgs({
  options: {
    media: { type: "string", default: join(root, "datasets/sample/media") },
    captions: { type: "string" },
    "media-column": { type: "string" },
    model: { type: "string", default: join(root, "datasets/sample/vqgan") },
    amused: { type: "boolean", default: false },
    fps: { type: "string", default: "4" },
    "max-frames": { type: "string", default: "30" },
    "seq-len": { type: "string", default: "8192" },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "8" },
    reps: { type: "string", default: "2" },
  },
});
const mediaDir = resolve(values.media);
const captions = resolve(mediaDir, values.captions ?? (mediaDir.endsWith("datasets/sample/media") ? "clips.jsonl" : "captions.jsonl"));
const mediaColumn = values["media-column"] ?? "video";
const fps = Number(values.fps);
const maxFrames = Number(values["max-frames"]);
const seqLen = Number(values["seq-len"]);
const threads = Number(values.threads);
const batch = Number(values.batch);
const reps = Number(values.reps);
const amusedDir = values.amused ? await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "vision-bench-amused-")) : null;
const modelDir = amusedDir ? await buildRandomAmusedModel(amusedDir) : resolve(values.model);

async function stepRun(): Promise<{ frames: number; seconds: number; clips: { file: string; frames: number }[] }> {
  const dir = await mkdtemp(join(tmpdir(), "vision-bench-"));
  try {
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "vision-bench",
      vqgan: modelDir,
      sources: [
        {
          kind: "video-text",
          name: "clips",
          corpus: captions,
          columns: { media: mediaColumn, caption: "caption" in firstRow ? "caption" : "text" },
          tasks: { "video-text": 1 },
        },
      ],
      steps: { vision: { batch } },
      stages: [{ name: "vl", kind: "vision-language", seqLen, ropeTheta: 5e7, frames: { fps, maxFrames }, mixture: { clips: 1 } }],
    });
    const t0 = performance.now();
    const report = await runStep(visionStep, { recipe, recipeDir: dir, outDir: dir, logger: silentLogger, threads });
    const seconds = (performance.now() - t0) / 1000;
    if (!report.ok) throw new Error(`the step failed: ${JSON.stringify(report.failures)}`);
    const clips: { file: string; frames: number }[] = [];
    for await (const e of readStageExamples(join(dir, "work/vision/examples/vl"))) {
      if (e.provenance.kind === "media") clips.push({ file: resolve(dir, e.provenance.file), frames: e.provenance.frameTimestamps.length });
    }
    return { frames: clips.reduce((n, c) => n + c.frames, 0), seconds, clips };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ffmpeg → rgb24 pipe → onnxruntime, clip after clip, nothing overlapped or cached. */
async function bareRun(clips: readonly { file: string; frames: number }[]): Promise<{ frames: number; seconds: number }> {
  const t0 = performance.now();
  const split = splitThreads(threads);
  const session = await ort.InferenceSession.create(join(modelDir, ENCODER_FILE), {
    intraOpNumThreads: split.onnxThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const frameBytes = 256 * 256 * 3;
  let frames = 0;
  for (const clip of clips) {
    const plan = await planDecode(clip.file, { sampling: { fps }, size: 256, threads: 1, maxFrames: clip.frames, probeCache: new ProbeCache() });
    const args = [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostats",
      ...plan.args.input,
      "-i",
      clip.file,
      "-vf",
      plan.args.filters.join(","),
      ...plan.args.output,
      "pipe:1",
    ];
    const child = spawn(ffmpegBinaries().ffmpeg, args, { stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    for await (const c of child.stdout as AsyncIterable<Buffer>) chunks.push(c);
    const all = Buffer.concat(chunks);
    const n = Math.floor(all.length / frameBytes);
    for (let at = 0; at < n; at += batch) {
      const k = Math.min(batch, n - at);
      const input = new Uint8Array(all.buffer, all.byteOffset + at * frameBytes, k * frameBytes);
      await session.run({ frames: new ort.Tensor("uint8", input, [k, 256, 256, 3]) });
    }
    frames += n;
  }
  await session.release();
  return { frames, seconds: (performance.now() - t0) / 1000 };
}

const firstRow = JSON.parse((await readFile(captions, "utf8")).split("\n")[0] as string) as Record<string, unknown>;
console.log(
  `vision step bench: ${captions}, model ${amusedDir ? "aMUSEd-shaped (random weights)" : modelDir}, fps ${fps}, max ${maxFrames} frames/clip, seqLen ${seqLen}, threads ${threads} (${JSON.stringify(splitThreads(threads))}), batch ${batch}`,
);
console.log(
  `machine: ${cpus().length} cpus, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} at start`,
);
try {
  for (let r = 0; r < reps; r++) {
    const step = await stepRun();
    const bare = await bareRun(step.clips);
    if (bare.frames !== step.frames) throw new Error(`the bare pipeline made ${bare.frames} frames, the step ${step.frames}`);
    const s = step.frames / step.seconds;
    const b = bare.frames / bare.seconds;
    console.log(
      `rep ${r + 1}: ${step.frames} frames of ${step.clips.length} clips — step ${s.toPrecision(3)} frames/s (${step.seconds.toFixed(2)} s), bare ffmpeg→onnxruntime ${b.toPrecision(3)} frames/s (${bare.seconds.toFixed(2)} s), ratio ${(s / b).toFixed(2)}; load ${loadavg()[0]?.toFixed(1)}`,
    );
  }
} finally {
  if (amusedDir) await rm(amusedDir, { recursive: true, force: true });
}
