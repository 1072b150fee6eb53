import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildVqModel } from "./build.js";
import { AMUSED_CONFIG } from "./config.js";
import { VqganModel } from "./model.js";
import { decodeNpy, encodeNpy } from "./npy.js";
import { prng, writeRandomVqModel } from "./test-helpers/random-weights.js";

const run = promisify(execFile);
const PYTHON = process.env.LWM_PYTHON ?? "/usr/bin/python3";
function pythonHas(modules: string): boolean {
  try {
    execFileSync(PYTHON, ["-c", `import ${modules}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
/**
 * The reference: a PyTorch module with diffusers' module names that loads the safetensors with
 * load_state_dict(strict=True) where torch is installed; else the NumPy walk over the same names.
 */
const reference = pythonHas("torch, safetensors, numpy")
  ? { name: "PyTorch", script: "test-helpers/vqmodel_torch.py" }
  : pythonHas("numpy")
    ? { name: "NumPy", script: "test-helpers/vqmodel_ref.py" }
    : null;
if (!reference) console.warn(`skipped the VQModel reference comparison: ${PYTHON} has neither torch nor numpy (set LWM_PYTHON)`);

let dir = "";
beforeAll(async () => {
  // 585 MB of random weights: in RAM where the machine has a tmpfs (no disk writes or fsync to wait for).
  dir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "lwm-vqgan-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.runIf(reference)(`aMUSEd VQModel graphs against an independent ${reference?.name} reference`, () => {
  it("random weights under diffusers' names and shapes: codes identical, pixels within 1e-4", async () => {
    const weights = join(dir, "weights"),
      model = join(dir, "model");
    const t0 = performance.now();
    const lap = (what: string) => console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await writeRandomVqModel(weights, AMUSED_CONFIG, 7);
    lap("weights written");

    const N = 2,
      S = 32;
    const rand = prng(3);
    const frames = new Uint8Array(N * S * S * 3);
    // Smooth gradients plus noise: image-like input.
    for (let n = 0; n < N; n++)
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++)
          for (let c = 0; c < 3; c++) {
            frames[((n * S + y) * S + x) * 3 + c] = Math.min(255, Math.floor(((x + y * (c + 1) + n * 40) % 200) + rand() * 50));
          }
    await writeFile(join(dir, "frames.npy"), encodeNpy(frames, [N, S, S, 3]));
    // The reference needs only the weights and the frames: it runs while the graphs are built and run.
    const referenceRun = run(PYTHON, [join(__dirname, reference!.script), weights, join(dir, "frames.npy"), "minus1to1", dir], { encoding: "utf8" }).then(
      (r) => {
        lap(`${reference!.name} reference`);
        return r.stdout;
      },
    );

    const settings = await buildVqModel(weights, model);
    lap("graphs built");
    expect(settings).toMatchObject({ kind: "vqmodel", pixelRange: "minus1to1", downsample: 16, codebookSize: 8192 });
    const vq = await VqganModel.load(model, { threads: 2 });
    const codes = await vq.encode(frames, N, S);
    const { pixels } = await vq.decode(codes, N);
    await vq.release();
    lap("onnxruntime encode + decode");
    const report = await referenceRun;
    const refCodes = decodeNpy(await readFile(join(dir, "codes.npy")));
    const refPixels = decodeNpy(await readFile(join(dir, "pixels.npy")));
    const ref64 = new BigInt64Array(refCodes.bytes.buffer, 0, refCodes.bytes.byteLength / 8);
    expect(refCodes.shape).toEqual([N, (S / 16) ** 2]);
    expect([...codes]).toEqual([...ref64].map(Number));
    const refPx = new Float64Array(refPixels.bytes.buffer, 0, refPixels.bytes.byteLength / 8);
    expect(refPixels.shape).toEqual([N, 3, S, S]);
    let maxErr = 0;
    for (let k = 0; k < refPx.length; k++) maxErr = Math.max(maxErr, Math.abs(refPx[k]! - pixels![k]!));
    console.log(`VQModel vs ${reference!.name}: ${codes.length} codes identical, max pixel error ${maxErr.toExponential(2)}; reference ${report.trim()}`);
    expect(maxErr).toBeLessThan(1e-4);
  }, 300_000);
});

describe.runIf(reference?.name === "PyTorch")("the PyTorch reference loads strictly", () => {
  it("a misnamed tensor fails load_state_dict(strict=True)", async () => {
    const small = { ...AMUSED_CONFIG, block_out_channels: [32, 32], norm_num_groups: 8, num_vq_embeddings: 16, latent_channels: 8, vq_embed_dim: 8 };
    const weights = join(dir, "small-torch");
    await writeRandomVqModel(weights, small, 1);
    const path = join(weights, "diffusion_pytorch_model.safetensors");
    await writeFile(path, Buffer.from((await readFile(path)).toString("latin1").replace("encoder.conv_out.bias", "encoder.conv_ou7.bias"), "latin1"));
    await writeFile(join(dir, "one.npy"), encodeNpy(new Uint8Array(16 * 16 * 3), [1, 16, 16, 3]));
    let stderr = "";
    try {
      execFileSync(PYTHON, [join(__dirname, reference!.script), weights, join(dir, "one.npy"), "minus1to1", dir], { stdio: "pipe" });
    } catch (err) {
      stderr = String((err as { stderr?: Buffer }).stderr);
    }
    expect(stderr).toMatch(/Missing key\(s\) in state_dict: "encoder\.conv_out\.bias"/);
    expect(stderr).toMatch(/Unexpected key\(s\) in state_dict: "encoder\.conv_ou7\.bias"/);
  }, 60_000);
});

describe("build checks the weights against config.json", () => {
  it("a misnamed tensor stops the build, naming it", async () => {
    const small = { ...AMUSED_CONFIG, block_out_channels: [32, 32], norm_num_groups: 8, num_vq_embeddings: 16, latent_channels: 8, vq_embed_dim: 8 };
    const weights = join(dir, "small");
    await writeRandomVqModel(weights, small, 1);
    const path = join(weights, "diffusion_pytorch_model.safetensors");
    const bytes = await readFile(path);
    await writeFile(path, Buffer.from(bytes.toString("latin1").replace("encoder.conv_out.bias", "encoder.conv_ou7.bias"), "latin1"));
    await expect(buildVqModel(weights, join(dir, "bad"))).rejects.toThrow(/missing encoder\.conv_out\.bias \[8\].*unexpected tensor encoder\.conv_ou7\.bias/);
  }, 60_000);
});
