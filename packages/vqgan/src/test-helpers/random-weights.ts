/** Random VQModel weights under diffusers' exact names and shapes (PyTorch-like init), for tests and benchmarks. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeSafetensors, type Tensor } from "@lwm/trainer";
import { buildVqModel } from "../build.js";
import { AMUSED_CONFIG, type VqModelConfig } from "../config.js";
import { vqModelShapes } from "../names.js";
import { mulberry32 as prng } from "@lwm/core";

export { prng };

export async function writeRandomVqModel(dir: string, config: VqModelConfig, seed = 1): Promise<void> {
  const rand = prng(seed);
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of vqModelShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fanIn = shape.length === 4 ? shape[1]! * shape[2]! * shape[3]! : 1;
    // value = offset + u / divisor, u uniform in [−1, 1): norms near (1, 0), convs scaled by fan-in.
    const isNorm = /norm/.test(name);
    const [offset, divisor] = name === "quantize.embedding.weight" ? [0, 1] : isNorm ? (name.endsWith(".weight") ? [1, 5] : [0, 10]) : [0, Math.sqrt(fanIn)];
    for (let k = 0; k < n; k++) data[k] = offset + (rand() * 2 - 1) / divisor;
    tensors.set(name, { shape, data });
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "diffusion_pytorch_model.safetensors"), tensors);
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify(
      {
        _class_name: "VQModel",
        ...config,
        down_block_types: config.block_out_channels.map(() => "DownEncoderBlock2D"),
        up_block_types: config.block_out_channels.map(() => "UpDecoderBlock2D"),
      },
      null,
      2,
    ),
  );
}

/**
 * An aMUSEd-shaped model folder (random weights, seed `seed`) built by `buildVqModel` into
 * `dir/m`, for benchmarks: the real model's graphs and cost without its weights. Returns the folder.
 */
export async function buildRandomAmusedModel(dir: string, seed = 1): Promise<string> {
  await writeRandomVqModel(join(dir, "w"), AMUSED_CONFIG, seed);
  await buildVqModel(join(dir, "w"), join(dir, "m"));
  return join(dir, "m");
}
