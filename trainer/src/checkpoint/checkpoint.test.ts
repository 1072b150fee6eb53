import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LlamaConfig } from "../model/api.js";
import { initParams, paramShapes } from "../model/params.js";
import { loadCheckpoint, loadHfCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { toHfConfig } from "./hf-config.js";

const cfg: LlamaConfig = { vocabSize: 20, visionVocabSize: 0, dim: 8, layers: 2, heads: 2, ffnDim: 12, normEps: 1e-6, ropeTheta: 1e6 };
const special = { bosId: 1, eosId: 2, padId: 0 };

/** A safetensors file of BF16 tensors (what Hugging Face ships Llama-2 in), written byte by byte. */
function writeBf16(path: string, tensors: [string, number[], Float32Array][]): void {
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const half = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) half[i] = bits[i]! >>> 16; // truncation is a valid bf16 value
    chunks.push(Buffer.from(half.buffer));
    header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + half.byteLength] };
    offset += half.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...chunks]));
}

describe("checkpoint folders", () => {
  it("save atomically (no temp folder left) and load back bit-exactly with optimizer and state", async () => {
    const root = mkdtempSync(join(tmpdir(), "ckpt-"));
    const dir = join(root, "step-000001");
    const params = initParams(cfg, 1);
    const moment = { shape: [3], data: new Float32Array([1, 2, 3]) };
    await saveCheckpoint(dir, { params, cfg, config: toHfConfig(cfg, 64, special), optimizer: new Map([["m/x", moment]]), state: { hello: 1 } });
    // Overwriting an existing checkpoint replaces it whole.
    await saveCheckpoint(dir, { params, cfg, config: toHfConfig(cfg, 64, special), optimizer: new Map([["m/x", moment]]), state: { hello: 2 } });
    expect(readdirSync(root)).toEqual(["step-000001"]);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors", "optimizer.safetensors", "state.json"]);
    const back = await loadCheckpoint(dir);
    expect(back.state).toEqual({ hello: 2 });
    expect(back.seqLen).toBe(64);
    expect([...back.optimizer!.get("m/x")!.data]).toEqual([1, 2, 3]);
    for (const [name, a] of params) expect(Buffer.from(back.params.get(name)!.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it("loads a sharded BF16 Hugging Face folder (model.safetensors.index.json), ignoring extra buffers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-"));
    const params = initParams(cfg, 2);
    const names = [...paramShapes(cfg)];
    const half = Math.floor(names.length / 2);
    const shard = (list: typeof names) => list.map(([n, shape]): [string, number[], Float32Array] => [n, shape, params.get(n)!]);
    writeBf16(join(dir, "model-00001-of-00002.safetensors"), [
      ...shard(names.slice(0, half)),
      ["model.layers.0.self_attn.rotary_emb.inv_freq", [2], new Float32Array([1, 0.5])],
    ]);
    writeBf16(join(dir, "model-00002-of-00002.safetensors"), shard(names.slice(half)));
    const weightMap: Record<string, string> = {};
    names.forEach(([n], i) => (weightMap[n] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...toHfConfig(cfg, 4096, special), torch_dtype: "bfloat16", lwm_seq_len: undefined }));
    const hf = await loadHfCheckpoint(dir);
    expect(hf.dims).toEqual(cfg);
    expect(hf.seqLen).toBe(4096);
    for (const [name, a] of params) {
      const got = hf.params.get(name)!;
      for (let i = 0; i < a.length; i++) expect(Math.abs(got[i]! - a[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -7);
    }
  });

  it("names the missing tensor or the shape that does not fit config.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-"));
    const params = initParams(cfg, 3);
    const wrong = join(dir, "wrong");
    await saveCheckpoint(wrong, { params, cfg, config: toHfConfig({ ...cfg, ffnDim: 16 }, 64, special), state: null });
    await expect(loadCheckpoint(wrong)).rejects.toThrow(/tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[12, 8\], config\.json implies \[16, 8\]/);
    await expect(loadHfCheckpoint(join(dir, "nothing-here"))).rejects.toThrow(/config\.json: cannot read/);
  });
});
