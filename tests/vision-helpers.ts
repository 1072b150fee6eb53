/**
 * A real vision-language stage for the tests, without the vision step: clips and a still that
 * ffmpeg makes from lavfi sources, decoded by @lwm/video as LWM preprocesses frames, encoded to
 * codes by the sample's VQ model (datasets/sample/vqgan), laid out as LWM examples (lwm-spec §1.4–1.5:
 * video→text, text→video, image→text, text→image), published through the examples contract by a
 * test-only producing step, and packed by `pack` into a vision-language stage that `lwm validate`
 * accepts. The source frames come back too, so a test can compare decoded frames with them.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleIdOf, runStep, sha256File, silentLogger, stepOutputDir, unitKey, type JsonValue, type Step } from "@lwm/core";
import { packStep } from "@lwm/pack";
import { EXAMPLES_FORMAT, Recipe, type ExamplesIndex, type RecipeInput, type SourcedExample, type TaskKind } from "@lwm/schemas";
import { ExamplesWriter, partFileName, writeExamplesIndex } from "@lwm/shards";
import { loadTokenizer, multimodalLayout, visionTagPieces } from "@lwm/tokenizer";
import { decodeFrames, ffmpegBinaries, type Sampling } from "@lwm/video";
import { modelFolderSha256, VqganModel } from "@lwm/vqgan";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The sample's VQ model (the small patch model the project fitted). */
export const SAMPLE_VQGAN = join(repoRoot, "datasets/sample/vqgan");

/** One piece of media as the test made it, with the frames the VQ model saw. */
export interface SourceMedia {
  /** Path relative to the fixture's root (what provenance records). */
  file: string;
  caption: string;
  /** frames × 256 × 256 × 3 RGB, as @lwm/video decoded and preprocessed them. */
  frames: Uint8Array;
  count: number;
  timestamps: number[];
  codes: Uint16Array;
}

export interface VisionFixture {
  /** Folder of the recipe and the media. */
  root: string;
  recipePath: string;
  /** The output root (`lwm run --out`) holding the packed stage. */
  outDir: string;
  stage: string;
  seqLen: number;
  modelDir: string;
  media: SourceMedia[];
  examples: SourcedExample[];
}

const STEP = "test-vision";
const SOURCE = "clips";

/** lavfi sources with motion and colour: two clips and a still (ffv1 in Matroska: lossless in every ffmpeg build). */
const MEDIA: { file: string; caption: string; lavfi: string; still: boolean }[] = [
  {
    file: "media/testsrc2.mkv",
    caption: "A <testsrc2> test pattern: a moving colour gradient & a running counter.",
    lavfi: "testsrc2=size=320x240:rate=8:duration=2",
    still: false,
  },
  {
    file: "media/mandelbrot.mkv",
    caption: "A Mandelbrot fractal zooming in, blue and orange.",
    lavfi: "mandelbrot=size=256x256:rate=4:end_scale=0.1",
    still: false,
  },
  { file: "media/bars.png", caption: "SMPTE colour bars on a still frame.", lavfi: "smptebars=size=320x240", still: true },
];

async function makeMedia(root: string): Promise<void> {
  for (const m of MEDIA) {
    const path = join(root, m.file);
    await mkdir(dirname(path), { recursive: true });
    const codec = m.still ? ["-frames:v", "1"] : ["-t", "2", "-c:v", "ffv1"];
    await promisify(execFile)(ffmpegBinaries().ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", m.lavfi, ...codec, path]);
  }
}

async function encodeMediaFile(model: VqganModel, root: string, m: (typeof MEDIA)[number], sampling: Sampling, maxFrames: number): Promise<SourceMedia> {
  const size = model.settings.frameSize;
  const rgb: Uint8Array[] = [];
  const timestamps: number[] = [];
  for await (const f of decodeFrames(join(root, m.file), { sampling, maxFrames, size })) {
    rgb.push(f.rgb);
    timestamps.push(f.ptsS);
  }
  const frames = new Uint8Array(rgb.length * size * size * 3);
  rgb.forEach((f, k) => frames.set(f, k * size * size * 3));
  const codes = await model.encode(frames, rgb.length, size);
  return { file: m.file, caption: m.caption, frames, count: rgb.length, timestamps, codes };
}

/** Builds examples in LWM's layouts from encoded media (lwm-spec §1.4–1.5). */
class ExampleLayout {
  private constructor(
    private readonly tags: { open: Uint32Array; close: Uint32Array },
    private readonly encode: (text: string) => Promise<Uint32Array>,
    private readonly vocab: ReturnType<typeof multimodalLayout>["layout"],
  ) {}

  static async load(): Promise<ExampleLayout> {
    const tokenizer = await loadTokenizer();
    return new ExampleLayout(await visionTagPieces(tokenizer), (t) => tokenizer.encode(t), multimodalLayout(tokenizer).layout);
  }

  /** `<vision>` f1 <eof> … fN <eov> `</vision>` as (tokens, vision) pieces. */
  private block(m: SourceMedia): { tokens: number[]; vision: number[] } {
    const per = this.vocab.tokensPerFrame;
    const tokens: number[] = [...this.tags.open];
    const vision: number[] = Array.from(this.tags.open, () => 0);
    for (let f = 0; f < m.count; f++) {
      tokens.push(...m.codes.subarray(f * per, (f + 1) * per), f === m.count - 1 ? this.vocab.eovId : this.vocab.eofId);
      for (let k = 0; k <= per; k++) vision.push(1);
    }
    tokens.push(...this.tags.close);
    for (let k = 0; k < this.tags.close.length; k++) vision.push(0);
    return { tokens, vision };
  }

  /** vision→text: loss on the caption and EOS; text→vision: loss on the whole block (tags included) and EOS. */
  async example(root: string, m: SourceMedia, toText: boolean, index: number): Promise<SourcedExample> {
    const caption = Array.from(await this.encode(m.caption));
    const block = this.block(m);
    const parts: { tokens: number[]; vision: number[]; loss: number }[] = toText
      ? [
          { tokens: [this.vocab.bosId], vision: [0], loss: 0 },
          { ...block, loss: 0 },
          { tokens: caption, vision: caption.map(() => 0), loss: 1 },
          { tokens: [this.vocab.eosId], vision: [0], loss: 1 },
        ]
      : [
          { tokens: [this.vocab.bosId], vision: [0], loss: 0 },
          { tokens: caption, vision: caption.map(() => 0), loss: 0 },
          { ...block, loss: 1 },
          { tokens: [this.vocab.eosId], vision: [0], loss: 1 },
        ];
    const video = m.count > 1;
    const task: TaskKind = toText ? (video ? "video-text" : "image-text") : video ? "text-video" : "text-image";
    return {
      exampleId: exampleIdOf(STEP, m.file, task, index),
      source: SOURCE,
      task,
      documentId: null,
      tokens: Uint16Array.from(parts.flatMap((p) => p.tokens)),
      vision: Uint8Array.from(parts.flatMap((p) => p.vision)),
      loss: Uint8Array.from(parts.flatMap((p) => p.tokens.map(() => p.loss))),
      provenance: { kind: "media", file: m.file, fileSha256: await sha256File(join(root, m.file)), frameTimestamps: m.timestamps },
    };
  }
}

/** A test-only producing step: one unit writes the examples, finalize publishes them through the contract. */
function producerStep(examples: readonly SourcedExample[], vqganSha256: string, tokenizerSha256: string): Step {
  return {
    name: STEP,
    version: "0.0.1",
    description: "test-only producer of vision-language examples",
    plan: async (ctx) => ({
      inputs: [],
      units: [
        {
          key: unitKey({ step: STEP, version: "0.0.1", kind: "all", config: { examples: examples.map((e) => e.exampleId) }, inputs: [] }),
          label: "examples",
          execute: async (dir) => {
            const writer = new ExamplesWriter(join(dir, "examples.arrow"), { tokenDtype: "uint16", batchExamples: 4 });
            for (const e of examples) writer.append(e);
            return { result: (await writer.close()) as unknown as JsonValue };
          },
        },
      ],
      finalize: async (completed) => {
        const stage = ctx.recipe.stages[0]!;
        const dir = stepOutputDir(ctx.outDir, STEP, "examples", stage.name);
        await mkdir(dir, { recursive: true });
        await copyFile(join(completed[0]!.dir, "examples.arrow"), join(dir, partFileName(0)));
        const made = completed[0]!.record.result as unknown as Omit<ExamplesIndex["parts"][number], "file" | "source">;
        await writeExamplesIndex(dir, {
          format: EXAMPLES_FORMAT,
          step: STEP,
          stepVersion: "0.0.1",
          stage: stage.name,
          seqLen: stage.seqLen,
          tokenDtype: "uint16",
          tokenizerSha256,
          vqganSha256,
          sources: [SOURCE],
          examples: made.examples,
          tokens: made.tokens,
          parts: [{ file: partFileName(0), source: SOURCE, ...made }],
        });
        return { outputs: [], details: null };
      },
    }),
  };
}

export interface VisionFixtureOptions {
  /** Frames per clip at most (default 3); clips are sampled at 2 fps. */
  maxFrames?: number;
  seqLen?: number;
  /** The stage's `training` section and the recipe's `model`, for `lwm train`. */
  training?: RecipeInput["stages"][number]["training"];
  model?: RecipeInput["model"];
  /** Copies of every example (different ids), to give training more rows; default 1. */
  repeat?: number;
}

/**
 * Makes the media under `root`, encodes them with the sample's VQ model, writes recipe.json and
 * packs the stage `vl` into `root/out`. About 5 s on a loaded 2-core machine.
 */
export async function buildVisionStage(root: string, opts: VisionFixtureOptions = {}): Promise<VisionFixture> {
  const seqLen = opts.seqLen ?? 2048;
  await makeMedia(root);
  const model = await VqganModel.load(SAMPLE_VQGAN);
  const vqganSha256 = await modelFolderSha256(model.dir);
  const media: SourceMedia[] = [];
  try {
    for (const m of MEDIA) media.push(await encodeMediaFile(model, root, m, { fps: 2 }, opts.maxFrames ?? 3));
  } finally {
    await model.release();
  }
  const layout = await ExampleLayout.load();
  const examples: SourcedExample[] = [];
  for (let r = 0; r < (opts.repeat ?? 1); r++)
    for (const m of media) for (const toText of [true, false]) examples.push(await layout.example(root, m, toText, r));

  const recipeInput: RecipeInput = {
    formatVersion: 1,
    name: "vision-fixture",
    // The recipe names the source; the test-only step produces its examples through the contract.
    sources: [{ kind: "books", name: SOURCE, paths: ["media"] }],
    stages: [{ name: "vl", kind: "vision-language", seqLen, ropeTheta: 1e6, mixture: { [SOURCE]: 1 }, ...(opts.training ? { training: opts.training } : {}) }],
    steps: { pack: { rowsPerShard: 4, rowsPerBatch: 2, seed: 0 } },
    ...(opts.model ? { model: opts.model } : {}),
  };
  const recipePath = join(root, "recipe.json");
  await writeFile(recipePath, JSON.stringify(recipeInput, null, 2));
  const recipe = Recipe.parse(recipeInput);
  const outDir = join(root, "out");
  const tokenizer = await loadTokenizer();
  const options = { recipe, recipeDir: root, outDir, logger: silentLogger };
  const produced = await runStep(producerStep(examples, vqganSha256, tokenizer.sha256), options);
  if (!produced.ok) throw new Error(`the test producer failed: ${JSON.stringify(produced)}`);
  const packed = await runStep(packStep, options);
  if (!packed.ok) throw new Error(`pack failed: ${JSON.stringify(packed)}`);
  return { root, recipePath, outDir, stage: "vl", seqLen, modelDir: SAMPLE_VQGAN, media, examples };
}
