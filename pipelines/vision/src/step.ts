import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  ConfigError,
  exampleIdOf,
  exists,
  sha256File,
  unitKey,
  type CompletedUnit,
  type JsonValue,
  type RejectRecord,
  type Step,
  type StepContext,
  type StepPlan,
  type WorkUnit,
} from "@lwm/core";
import { DEFAULT_STAGE_FRAMES, type ExamplesIndex, type Recipe, type Stage, type StageFrames, type TokenDtype, type VisionSource } from "@lwm/schemas";
import { ExamplesWriter, noExamplesPlan, publishStageExamples, unitExamplesPart } from "@lwm/shards";
import { loadRecipeTokenizer, multimodalLayout, visionTagPieces } from "@lwm/tokenizer";
import { ProbeCache } from "@lwm/video";
import { z } from "zod";
import { modelFolderSha256 } from "@lwm/vqgan";
import { ClipEncoder, splitThreads } from "./clip-encoder.js";
import { readCorpus, type Corpus, type CorpusSample } from "./corpus.js";
import { encodeSample, SampleRejected, type EncodedSample, type SampleContext } from "./sample.js";
import { taskShares } from "./tasks.js";

export const VISION_STEP_NAME = "vision";
/** Bump when the bytes a unit writes would change for the same inputs and config. */
export const VISION_STEP_VERSION = "1.0.0";

/** The rule that caps frames per clip, as the step report states it. */
export const FRAMES_RULE =
  "frames per clip = min(stage frames.maxFrames, ⌊(seqLen − 2 − |<vision>| − |</vision>| − |caption|) / 257⌋), sampled at the stage's fps (first frames of the clip) or as N frames evenly spaced by index; 1 for a still image or an image-text source";

const StageMade = z.object({
  examples: z.number().int(),
  tokens: z.number().int(),
  lossTokens: z.number().int(),
  frames: z.number().int(),
  tasks: z.record(z.string(), z.number()),
});
const UnitResult = z.object({ samples: z.number().int(), encoded: z.number().int(), rejected: z.number().int(), stages: z.record(z.string(), StageMade) });
type StageMade = z.infer<typeof StageMade>;

const stageFile = (stage: string) => `${stage}.arrow`;

/**
 * The vision step (issue 11): every video-text and image-text source's corpus is read into
 * samples; a unit takes `unitSamples` consecutive samples and, for every vision-language stage
 * that mixes the source in, lays each sample out as one LWM vision-text example (frames per the
 * stage, capped to fit its seqLen) or rejects it with a reason. Codes come from the step's codes
 * cache (clip-encoder.ts). finalize publishes `work/vision/examples/<stage>/`.
 */
export const visionStep: Step = {
  name: VISION_STEP_NAME,
  version: VISION_STEP_VERSION,
  description: "vision: video/image-text corpora → probe, decode, VQ-encode → LWM vision-text examples per stage",
  // ffmpeg processes and onnxruntime's pool take the budget (clip-encoder.ts splitThreads), not pool workers.
  workerThreads: () => 0,
  // A recipe whose VQ model folder is missing stops `lwm run` before the books step starts.
  preflight: async ({ recipe, recipeDir }) => {
    if (visionSources(recipe).length > 0) await vqModelDirOf(recipe, recipeDir);
  },
  plan: planVision,
};

/** The recipe's VQ model folder, checked: a ConfigError on `vqgan` when it holds no model. */
async function vqModelDirOf(recipe: Recipe, recipeDir: string): Promise<string> {
  const modelDir = resolve(recipeDir, recipe.vqgan as string);
  if (!(await exists(join(modelDir, "model.json")))) throw new ConfigError("vqgan", `${modelDir}: not a VQ model folder (no model.json)`);
  return modelDir;
}

function visionSources(recipe: Recipe): { source: VisionSource; index: number }[] {
  return recipe.sources
    .map((source, index) => ({ source, index }))
    .filter((s): s is { source: VisionSource; index: number } => s.source.kind === "video-text" || s.source.kind === "image-text");
}

interface PlannedUnit {
  key: string;
  source: string;
  /** Samples [start, end) of the source's corpus. */
  start: number;
}

async function planVision(ctx: StepContext): Promise<StepPlan> {
  const { recipe } = ctx;
  const sources = visionSources(recipe);
  if (sources.length === 0) return noExamplesPlan(ctx.outDir, VISION_STEP_NAME);
  const config = recipe.steps.vision;
  const modelDir = await vqModelDirOf(recipe, ctx.recipeDir);
  const modelSha256 = await modelFolderSha256(modelDir);
  const tokenizer = await loadRecipeTokenizer(ctx);
  const { layout, tokenDtype } = multimodalLayout(tokenizer);
  const tags = await visionTagPieces(tokenizer);
  const probeCache = new ProbeCache(join(ctx.stepDir, "cache", "probe"));
  const cacheDir = join(ctx.stepDir, "cache", "codes");
  let encoder: Promise<ClipEncoder> | null = null;
  const openEncoder = () =>
    (encoder ??= ClipEncoder.open({ modelDir, modelSha256, threads: ctx.threads, batch: config.batch, cacheDir, probeCache }).then((e) => {
      if (e.codesPerFrame !== layout.tokensPerFrame)
        throw new ConfigError("vqgan", `the model gives ${e.codesPerFrame} codes per frame, the vision layout wants ${layout.tokensPerFrame}`);
      return e;
    }));

  const units: WorkUnit[] = [];
  const planned: PlannedUnit[] = [];
  const inputs: StepPlan["inputs"] = [];
  const corpora = new Map<string, Corpus>();
  for (const { source, index } of sources) {
    const stages = recipe.stages.filter((s) => source.name in s.mixture).map((stage) => ({ stage, frames: stage.frames ?? DEFAULT_STAGE_FRAMES }));
    // A source no stage mixes in is not read: nothing would use its examples.
    if (stages.length === 0) continue;
    const corpus = await readCorpus(source, index, ctx.recipeDir);
    corpora.set(source.name, corpus);
    if (corpus.format !== "folder") inputs.push({ path: corpus.name, bytes: (await stat(resolve(ctx.recipeDir, source.corpus))).size, sha256: corpus.sha256 });
    const mediaHashes = await hashMedia(corpus.samples);
    const sampleContext: Omit<SampleContext, "encoder"> = {
      source,
      stages,
      probeCache,
      encodeText: (t) => tokenizer.encode(t),
      layout: {
        bosId: tokenizer.bosId,
        eosId: tokenizer.eosId,
        eofId: layout.eofId,
        eovId: layout.eovId,
        tokensPerFrame: layout.tokensPerFrame,
        open: tags.open,
        close: tags.close,
        visionCodes: layout.visionCodes,
      },
    };
    const unitConfig = {
      source: {
        kind: source.kind,
        name: source.name,
        columns: source.columns,
        minSide: source.minSide,
        seed: source.seed,
        tasks: source.tasks,
      } as unknown as JsonValue,
      stages: stages.map(({ stage, frames }) => ({ name: stage.name, seqLen: stage.seqLen, frames: frames as unknown as JsonValue })),
      tokenizer: tokenizer.sha256,
      model: modelSha256,
      tokenDtype,
    };
    for (let start = 0; start < corpus.samples.length; start += config.unitSamples) {
      const chunk = corpus.samples.slice(start, start + config.unitSamples);
      const key = unitKey({
        step: VISION_STEP_NAME,
        version: VISION_STEP_VERSION,
        kind: "encode",
        config: unitConfig,
        inputs: [corpus.sha256, `${start}-${start + chunk.length}`, ...chunk.map((s) => mediaHashes.get(s.row) ?? "no-media")],
      });
      planned.push({ key, source: source.name, start });
      units.push({
        key,
        label: `encode ${source.name} samples ${start}-${start + chunk.length - 1}`,
        size: chunk.length,
        execute: async (dir) => encodeUnit(dir, chunk, corpus, { ...sampleContext, encoder: await openEncoder() }, tokenDtype, mediaHashes),
      });
    }
  }

  return {
    units,
    inputs,
    check: (completed) => {
      const problems: string[] = [];
      for (const { source, index } of sources) {
        if (source.allowEmpty || !corpora.has(source.name)) continue;
        const mine = completed.filter((c) => planned.some((p) => p.key === c.unit.key && p.source === source.name));
        const encoded = mine.reduce((n, c) => n + UnitResult.parse(c.record.result).encoded, 0);
        if (encoded === 0) problems.push(`sources[${index}]: no sample of ${source.corpus} was encoded (see rejects.jsonl); set allowEmpty to accept that`);
      }
      return problems;
    },
    finalize: async (completed) => {
      try {
        const outcome = await finalizeVision(
          ctx,
          completed,
          planned,
          sources,
          { tokenDtype, tokenizerSha256: tokenizer.sha256, vqganSha256: modelSha256 },
          corpora,
        );
        // What this process decoded and encoded (0 when every unit was done before or the cache held every frame).
        const stats = encoder ? (await encoder).stats : { clipsFromCache: 0, clipsDecoded: 0, framesEncoded: 0, decodeSeconds: 0, encodeSeconds: 0 };
        return { ...outcome, details: { ...(outcome.details as Record<string, JsonValue>), thisRun: { ...stats } } };
      } finally {
        if (encoder) await (await encoder).close();
      }
    },
  };
}

/** sha256 of every media file a corpus names (a missing one has none: its unit key says so). */
async function hashMedia(samples: readonly CorpusSample[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const byPath = new Map<string, Promise<string | null>>();
  const hash = async (path: string) => {
    try {
      return (await stat(path)).isFile() ? await sha256File(path) : null;
    } catch {
      return null;
    }
  };
  for (const s of samples) {
    if (s.mediaPath === null) continue;
    let h = byPath.get(s.mediaPath);
    if (!h) byPath.set(s.mediaPath, (h = hash(s.mediaPath)));
    const sha = await h;
    if (sha) out.set(s.row, sha);
  }
  return out;
}

async function encodeUnit(
  dir: string,
  samples: readonly CorpusSample[],
  corpus: Corpus,
  ctx: SampleContext,
  tokenDtype: TokenDtype,
  mediaHashes: ReadonlyMap<number, string>,
) {
  const { source } = ctx;
  const writers = new Map(ctx.stages.map(({ stage }) => [stage.name, new ExamplesWriter(join(dir, stageFile(stage.name)), { tokenDtype })]));
  const made: Record<string, StageMade> = Object.fromEntries(
    ctx.stages.map(({ stage }) => [stage.name, { examples: 0, tokens: 0, lossTokens: 0, frames: 0, tasks: {} }]),
  );
  const rejects: RejectRecord[] = [];
  // Counters of what the unit made only: frames encoded vs read from the cache depend on what ran before (ClipEncoder.stats).
  const metrics = { samples: samples.length, encoded: 0, rejected: 0 };
  const positionOf = (s: CorpusSample) => (corpus.format === "jsonl" ? { line: s.row } : { row: s.row });
  const where = (s: CorpusSample) => ` [source ${source.name}, ${corpus.format === "jsonl" ? "line" : "row"} ${s.row}${s.media ? `, media ${s.media}` : ""}]`;
  // Clip k + 1 is asked for before clip k is awaited: its decode overlaps k's encode.
  const attempt = (s: CorpusSample): Promise<EncodedSample | SampleRejected> =>
    encodeSample(s, ctx).catch((err: unknown) => {
      if (err instanceof SampleRejected) return err;
      throw err;
    });
  try {
    let next = samples.length > 0 ? attempt(samples[0] as CorpusSample) : null;
    for (let k = 0; k < samples.length; k++) {
      const sample = samples[k] as CorpusSample;
      const current = next as Promise<EncodedSample | SampleRejected>;
      next = k + 1 < samples.length ? attempt(samples[k + 1] as CorpusSample) : null;
      // A failure of the one ahead surfaces when it is awaited, not as an unhandled rejection now.
      next?.catch(() => undefined);
      const outcome = await current;
      if (outcome instanceof SampleRejected) {
        metrics.rejected += 1;
        rejects.push({ source: corpus.name, position: positionOf(sample), reason: `${outcome.message}${where(sample)}` });
        continue;
      }
      metrics.encoded += 1;
      for (const r of outcome.stageRejects) rejects.push({ source: corpus.name, position: positionOf(sample), reason: `${r.reason}${where(sample)}` });
      for (const e of outcome.examples) {
        const m = made[e.stage] as StageMade;
        const mediaSha = mediaHashes.get(sample.row) ?? outcome.probe.sha256;
        (writers.get(e.stage) as ExamplesWriter).append({
          exampleId: exampleIdOf("vision", source.name, corpus.sha256, sample.row, e.task, mediaSha, e.frames.length),
          source: source.name,
          task: e.task,
          documentId: null,
          tokens: e.example.tokens,
          vision: e.example.vision,
          loss: e.example.loss,
          provenance: {
            kind: "media",
            file: sample.mediaFile as string,
            fileSha256: mediaSha,
            frameTimestamps: e.frames.map((f) => f.ptsS),
            ...(e.frames.every((f) => f.sourceIndex !== null) && outcome.probe.kind === "video"
              ? { frameIndices: e.frames.map((f) => f.sourceIndex as number) }
              : {}),
            ...(outcome.window ? { clip: outcome.window } : {}),
            corpus: {
              file: corpus.name,
              row: sample.row,
              ...(sample.id !== undefined ? { id: sample.id } : {}),
              ...(Object.keys(sample.extra).length > 0 ? { extra: sample.extra } : {}),
            },
          },
        });
        m.examples += 1;
        m.tokens += e.example.tokens.length;
        m.frames += e.frames.length;
        m.tasks[e.task] = (m.tasks[e.task] ?? 0) + 1;
        for (const l of e.example.loss) m.lossTokens += l;
      }
    }
    for (const w of writers.values()) await w.close();
  } catch (err) {
    for (const w of writers.values()) await w.abort();
    throw err;
  }
  return { result: { samples: samples.length, encoded: metrics.encoded, rejected: metrics.rejected, stages: made } as unknown as JsonValue, rejects, metrics };
}

async function finalizeVision(
  ctx: StepContext,
  completed: readonly CompletedUnit[],
  planned: readonly PlannedUnit[],
  sources: readonly { source: VisionSource; index: number }[],
  index: { tokenDtype: TokenDtype; tokenizerSha256: string; vqganSha256: string },
  corpora: ReadonlyMap<string, Corpus>,
) {
  const dirOf = new Map(completed.map((c) => [c.unit.key, c]));
  const stages = ctx.recipe.stages.filter((st) => sources.some(({ source }) => source.name in st.mixture));
  const stageNames = (stage: Stage) => sources.filter(({ source }) => source.name in stage.mixture).map(({ source }) => source.name);
  /** What each planned unit made for `stage` (none where the unit has no result for it). */
  const madeFor = (stage: Stage) =>
    planned
      .filter((p) => stageNames(stage).includes(p.source))
      .map((p) => {
        const unit = dirOf.get(p.key) as CompletedUnit;
        return { p, unit, m: UnitResult.parse(unit.record.result).stages[stage.name] };
      })
      .filter((x): x is { p: PlannedUnit; unit: CompletedUnit; m: StageMade } => x.m !== undefined);
  const { indexes, outputs } = await publishStageExamples(
    ctx.outDir,
    { step: VISION_STEP_NAME, stepVersion: VISION_STEP_VERSION, ...index },
    stages.map((stage) => ({
      name: stage.name,
      seqLen: stage.seqLen,
      sources: stageNames(stage),
      parts: madeFor(stage).map(({ p, unit, m }) => unitExamplesPart(unit, stageFile(stage.name), p.source, m)),
    })),
  );
  const stageDetails: Record<string, JsonValue> = {};
  for (const [i, stage] of stages.entries()) {
    const perSource: Record<string, StageMade> = {};
    for (const { p, m } of madeFor(stage)) {
      const total = (perSource[p.source] ??= { examples: 0, tokens: 0, lossTokens: 0, frames: 0, tasks: {} });
      total.examples += m.examples;
      total.tokens += m.tokens;
      total.lossTokens += m.lossTokens;
      total.frames += m.frames;
      for (const [t, n] of Object.entries(m.tasks)) total.tasks[t] = (total.tasks[t] ?? 0) + n;
    }
    const stageIndex = indexes[i] as ExamplesIndex;
    stageDetails[stage.name] = {
      seqLen: stage.seqLen,
      frames: framesSetting(stage) as unknown as JsonValue,
      maxFramesThatFit: Math.floor((stage.seqLen - 2) / 257),
      examples: stageIndex.examples,
      tokens: stageIndex.tokens,
      sources: perSource as unknown as JsonValue,
    };
  }
  const sourceDetails: Record<string, JsonValue> = {};
  for (const { source } of sources.filter(({ source }) => corpora.has(source.name))) {
    const mine = planned.filter((p) => p.source === source.name).map((p) => UnitResult.parse((dirOf.get(p.key) as CompletedUnit).record.result));
    sourceDetails[source.name] = {
      corpus: (corpora.get(source.name) as Corpus).name,
      format: (corpora.get(source.name) as Corpus).format,
      samples: mine.reduce((n, r) => n + r.samples, 0),
      encoded: mine.reduce((n, r) => n + r.encoded, 0),
      rejected: mine.reduce((n, r) => n + r.rejected, 0),
      taskShares: Object.fromEntries(taskShares(source)),
    };
  }
  return {
    outputs,
    details: { framesRule: FRAMES_RULE, threads: splitThreads(ctx.threads) as unknown as JsonValue, stages: stageDetails, sources: sourceDetails },
  };
}

function framesSetting(stage: Stage): StageFrames {
  return stage.frames ?? DEFAULT_STAGE_FRAMES;
}
