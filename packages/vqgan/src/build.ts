/**
 * `lwm vqgan build`: a diffusers VQModel folder (config.json + diffusion_pytorch_model.safetensors)
 * → a model folder with encoder.onnx, decoder.onnx and model.json. Every tensor name and shape is
 * checked against the config first (a missing, extra or misshapen tensor stops the build, naming it).
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, linkOrCopy, sha256File } from "@lwm/core";
import { readSafetensors, writeSafetensors } from "@lwm/trainer";
import { AMUSED_CONFIG, VqModelConfig, type ModelSettings, type PixelRange } from "./config.js";
import type { WeightSource } from "./layers.js";
import { writeModelDir } from "./model-dir.js";
import { vqModelShapes } from "./names.js";
import { safetensorsLayout } from "./safetensors-layout.js";
import { vqDecoderGraph, vqEncoderGraph } from "./vqmodel.js";

export const WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";
/** The float32 weights inside a built model folder, read by both graphs as external data. */
export const MODEL_WEIGHTS_FILE = "weights.safetensors";

export async function readVqModelConfig(dir: string): Promise<VqModelConfig> {
  const path = join(dir, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ConfigError(path, err instanceof Error ? err.message : String(err));
  }
  const parsed = VqModelConfig.safeParse(json);
  if (!parsed.success) throw new ConfigError(path, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}

/**
 * The weights of `dir`, checked name by name and shape by shape against `config`, as a float32
 * safetensors file in `outDir` (hard-linked when the source is F32 already, else widened) that the
 * graphs read as external data.
 */
export async function loadVqWeights(dir: string, config: VqModelConfig, outDir: string): Promise<WeightSource> {
  const path = join(dir, WEIGHTS_FILE);
  let layout = await safetensorsLayout(path).catch((err: unknown) => {
    throw new ConfigError(path, err instanceof Error ? err.message : String(err));
  });
  const expected = vqModelShapes(config);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const t = layout.get(name);
    if (!t) problems.push(`missing ${name} [${shape.join(", ")}]`);
    else if (t.shape.join(",") !== shape.join(",")) problems.push(`${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
  }
  for (const name of layout.keys()) if (!expected.has(name)) problems.push(`unexpected tensor ${name}`);
  if (problems.length)
    throw new ConfigError(
      path,
      `does not match config.json: ${problems.slice(0, 8).join("; ")}${problems.length > 8 ? `; … ${problems.length - 8} more` : ""}`,
    );
  await mkdir(outDir, { recursive: true });
  const target = join(outDir, MODEL_WEIGHTS_FILE);
  await rm(target, { force: true });
  if ([...layout.values()].every((t) => t.dtype === "F32")) await linkOrCopy(path, target);
  else await writeSafetensors(target, (await readSafetensors(path)).tensors);
  layout = await safetensorsLayout(target);
  return {
    file: MODEL_WEIGHTS_FILE,
    get(name) {
      const t = layout.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t;
    },
    has: (name) => layout.has(name),
  };
}

export interface BuildOptions {
  pixelRange?: PixelRange;
}

/** Builds the encoder and decoder graphs of the VQModel in `weightsDir` into `outDir`. */
export async function buildVqModel(weightsDir: string, outDir: string, opts: BuildOptions = {}): Promise<ModelSettings> {
  const config = await readVqModelConfig(weightsDir);
  const weights = await loadVqWeights(weightsDir, config, outDir);
  const range = opts.pixelRange ?? "minus1to1";
  const downsample = 2 ** (config.block_out_channels.length - 1);
  const settings: ModelSettings = {
    format: "lwm-vqgan/1",
    kind: "vqmodel",
    pixelRange: range,
    downsample,
    frameSize: 256,
    codebookSize: config.num_vq_embeddings,
    weightsSha256: await sha256File(join(weightsDir, WEIGHTS_FILE)),
    notes: { source: weightsDir, amusedLayout: JSON.stringify(config.block_out_channels) === JSON.stringify(AMUSED_CONFIG.block_out_channels) ? "yes" : "no" },
  };
  await writeModelDir(outDir, settings, {
    encoder: vqEncoderGraph(config, weights, range).toBytes(),
    decoder: vqDecoderGraph(config, weights, range).toBytes(),
  });
  return settings;
}
