import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { LlamaConfig } from "../model/api.js";
import { initParams, LM_HEAD, VISION_HEAD } from "../model/params.js";
import { referenceHidden } from "../model/reference.js";
import { normalSampler } from "../model/rng.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { toHfConfig } from "./hf-config.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), "../../python/llama_ref.py");
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;
if (!hasNumpy) console.warn("skipped: /usr/bin/python3 with numpy not found (apt-get install python3-numpy)");

const cfg: LlamaConfig = { vocabSize: 40, visionVocabSize: 12, dim: 16, layers: 2, heads: 2, ffnDim: 24, normEps: 1e-5, ropeTheta: 5e5 };

/** Logits of `h` [n, dim] against a head [V, dim]. */
function project(h: Float64Array, n: number, W: Float32Array, V: number): Float64Array {
  const d = cfg.dim;
  const out = new Float64Array(n * V);
  for (let t = 0; t < n; t++)
    for (let c = 0; c < V; c++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += h[t * d + i]! * W[c * d + i]!;
      out[t * V + c] = s;
    }
  return out;
}

describe("checkpoint layout against an independent NumPy Llama (trainer/python/llama_ref.py)", () => {
  it.skipIf(!hasNumpy)("gives the same text and vision logits as our reference forward, per segment of a packed row", async () => {
    const params = initParams(cfg, 7);
    // Norm gains away from 1, so a transposed or misnamed norm would show.
    const normal = normalSampler(99);
    for (const [name, a] of params) if (name.endsWith("norm.weight")) for (let i = 0; i < a.length; i++) a[i] = 1 + 0.3 * normal();
    // Sharpen attention so that positions (RoPE) and the q/k layout visibly change the output.
    for (const [name, a] of params) if (/(q|k)_proj/.test(name)) for (let i = 0; i < a.length; i++) a[i] = a[i]! * 40;
    const dir = join(mkdtempSync(join(tmpdir(), "numpy-ref-")), "ckpt");
    await saveCheckpoint(dir, { params, cfg, config: toHfConfig(cfg, 16, { bosId: 1, eosId: 2, padId: 0 }), state: null });

    const back = await loadCheckpoint(dir);
    expect(back.dims).toEqual(cfg);
    for (const [name, a] of params) expect(Buffer.from(back.params.get(name)!.buffer).equals(Buffer.from(a.buffer))).toBe(true);

    // Two segments (one mixing text and vision tokens) and tail padding.
    const tokens = [1, 17, 5, 11, 2, 1, 30, 39, 2, 0, 0, 0];
    const vision = [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const cuSeqlens = [0, 5, 9];
    const rowPath = join(dirname(dir), "row.json");
    const outPath = join(dirname(dir), "logits.f32");
    writeFileSync(rowPath, JSON.stringify({ tokens, vision, cuSeqlens }));
    const run = spawnSync(PYTHON, [SCRIPT, dir, rowPath, outPath], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ textShape: [12, 40], visionShape: [12, 12] });
    const raw = readFileSync(outPath);
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const pyText = all.subarray(0, 12 * 40);
    const pyVision = all.subarray(12 * 40);

    let worst = 0;
    for (let s = 0; s + 1 < cuSeqlens.length; s++) {
      const a = cuSeqlens[s]!;
      const n = cuSeqlens[s + 1]! - a;
      const h = referenceHidden(params, cfg, Uint32Array.from(tokens.slice(a, a + n)), Uint8Array.from(vision.slice(a, a + n)));
      const text = project(h, n, params.get(LM_HEAD)!, 40);
      const vis = project(h, n, params.get(VISION_HEAD)!, 12);
      for (let i = 0; i < n * 40; i++) worst = Math.max(worst, Math.abs(text[i]! - pyText[a * 40 + i]!));
      for (let i = 0; i < n * 12; i++) worst = Math.max(worst, Math.abs(vis[i]! - pyVision[a * 12 + i]!));
    }
    expect(worst).toBeLessThan(1e-4);
    // The logits are not trivially small: a 1e-4 match means something.
    expect(Math.max(...pyText.slice(0, 9 * 40).map(Math.abs))).toBeGreaterThan(0.05);
  });

  it.skipIf(!hasNumpy)("detects a wrong layout: a transposed q_proj changes the NumPy logits", async () => {
    const text = { ...cfg, visionVocabSize: 0 };
    const params = initParams(text, 8);
    // Sharpen attention (N(0, 0.02) weights give near-uniform attention, hiding any q/k mistake).
    for (const [name, a] of params) if (/(q|k)_proj/.test(name)) for (let i = 0; i < a.length; i++) a[i] = a[i]! * 40;
    const dir = join(mkdtempSync(join(tmpdir(), "numpy-ref-")), "ckpt");
    const tokens = [1, 9, 8, 7, 6, 5];
    const h = referenceHidden(params, text, Uint32Array.from(tokens), new Uint8Array(6));
    const ours = project(h, 6, params.get(LM_HEAD)!, 40);
    const q = params.get("model.layers.0.self_attn.q_proj.weight")!;
    const t = new Float32Array(q.length);
    for (let r = 0; r < 16; r++) for (let c = 0; c < 16; c++) t[c * 16 + r] = q[r * 16 + c]!;
    params.set("model.layers.0.self_attn.q_proj.weight", t);
    await saveCheckpoint(dir, { params, cfg: text, config: toHfConfig(text, 16, { bosId: 1, eosId: 2, padId: 0 }), state: null });
    const rowPath = join(dirname(dir), "row.json");
    const outPath = join(dirname(dir), "logits.f32");
    writeFileSync(rowPath, JSON.stringify({ tokens }));
    expect(spawnSync(PYTHON, [SCRIPT, dir, rowPath, outPath]).status).toBe(0);
    const raw = readFileSync(outPath);
    const py = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    let worst = 0;
    for (let i = 6 * 40 - 40; i < 6 * 40; i++) worst = Math.max(worst, Math.abs(ours[i]! - py[i]!));
    expect(worst).toBeGreaterThan(1e-3);
  });
});
