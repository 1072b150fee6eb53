import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { publishDir } from "@lwm/core";
import { formatZodError } from "@lwm/schemas";
import type { LlamaConfig, Params } from "../model/api.js";
import { paramShapes } from "../model/params.js";
import { fromHfConfig, type HfLlamaConfig } from "./hf-config.js";
import { readSafetensors, writeSafetensors, type TensorMap } from "./safetensors.js";

/**
 * A checkpoint folder:
 *   config.json          Hugging Face Llama config (hf-config.ts)
 *   model.safetensors    the weights, Hugging Face names and [out, in] layout, F32
 *   optimizer.safetensors  optimizer moments (optional; names "<moment>/<param name>")
 *   state.json           everything else exact resume needs (optimizer step, data loader,
 *                        progress through the stages, metrics lines written), parsed by its owner
 * Published with core's publishDir (temp folder beside the target, fsynced, renamed into place), so
 * a checkpoint folder either is complete or does not exist.
 */
export const MODEL_FILE = "model.safetensors";
export const CONFIG_FILE = "config.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const STATE_FILE = "state.json";

/** Pairs each parameter with its shape from `cfg` (the safetensors header needs shapes). */
export function paramsToTensors(params: Params, cfg: LlamaConfig): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, shape] of paramShapes(cfg)) {
    const data = params.get(name);
    if (!data) throw new Error(`checkpoint: params lack ${name}`);
    out.set(name, { shape, data });
  }
  return out;
}

/** The inverse of paramsToTensors, checking that every tensor `cfg` needs is there with its shape. */
export function tensorsToParams(tensors: TensorMap, cfg: LlamaConfig, where: string): Params {
  const out: Params = new Map();
  for (const [name, shape] of paramShapes(cfg)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${where}: missing tensor ${name} [${shape.join(", ")}]`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${where}: tensor ${name} has shape [${t.shape.join(", ")}], config.json implies [${shape.join(", ")}]`);
    }
    out.set(name, t.data);
  }
  return out;
}

export interface CheckpointContents {
  params: Params;
  cfg: LlamaConfig;
  config: HfLlamaConfig;
  optimizer?: TensorMap;
  state: unknown;
}

export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  await publishDir(dir, async (tmp) => {
    await writeFile(join(tmp, CONFIG_FILE), JSON.stringify(c.config, null, 2) + "\n");
    await writeSafetensors(join(tmp, MODEL_FILE), paramsToTensors(c.params, c.cfg), { format: "pt" });
    if (c.optimizer) await writeSafetensors(join(tmp, OPTIMIZER_FILE), c.optimizer);
    await writeFile(join(tmp, STATE_FILE), JSON.stringify(c.state) + "\n");
  });
}

export interface LoadedCheckpoint {
  params: Params;
  config: HfLlamaConfig;
  dims: LlamaConfig;
  seqLen: number;
  optimizer: TensorMap | null;
  state: unknown;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON (${(err as Error).message})`);
  }
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { dims, seqLen, config } = fromHfConfig(await readJson(join(dir, CONFIG_FILE)), join(dir, CONFIG_FILE));
  const { tensors } = await readSafetensors(join(dir, MODEL_FILE));
  const params = tensorsToParams(tensors, dims, join(dir, MODEL_FILE));
  const optPath = join(dir, OPTIMIZER_FILE);
  const optimizer = existsSync(optPath) ? (await readSafetensors(optPath)).tensors : null;
  const statePath = join(dir, STATE_FILE);
  const state = existsSync(statePath) ? await readJson(statePath) : null;
  return { params, config, dims, seqLen, optimizer, state };
}

const SafetensorsIndex = z.object({ weight_map: z.record(z.string(), z.string()) });

/**
 * Reads a Hugging Face Llama checkpoint folder (config.json + model.safetensors, or shards listed
 * in model.safetensors.index.json), widening F16/BF16 weights to F32. Used as stage-1 init.
 */
export async function loadHfCheckpoint(dir: string): Promise<{ dims: LlamaConfig; seqLen: number; params: Params }> {
  const configPath = join(dir, CONFIG_FILE);
  const { dims, seqLen } = fromHfConfig(await readJson(configPath), configPath);
  const single = join(dir, MODEL_FILE);
  if (existsSync(single)) return { dims, seqLen, params: tensorsToParams((await readSafetensors(single)).tensors, dims, single) };
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!existsSync(indexPath)) {
    throw new Error(`${dir}: no ${MODEL_FILE} or model.safetensors.index.json (PyTorch .bin checkpoints are not supported; convert to safetensors)`);
  }
  const index = SafetensorsIndex.safeParse(await readJson(indexPath));
  if (!index.success) throw new Error(formatZodError(index.error, indexPath));
  const tensors: TensorMap = new Map();
  for (const file of [...new Set(Object.values(index.data.weight_map))].sort()) {
    for (const [name, t] of (await readSafetensors(join(dir, file))).tensors) tensors.set(name, t);
  }
  for (const name of Object.keys(index.data.weight_map)) {
    if (!tensors.has(name)) throw new Error(`${indexPath}: weight_map names "${name}" but its file does not hold it`);
  }
  return { dims, seqLen, params: tensorsToParams(tensors, dims, indexPath) };
}
