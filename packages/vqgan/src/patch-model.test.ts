import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ffmpegBinaries, decodeAll } from "@lwm/video";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fitPatchModel } from "./fit.js";
import { fitPatchCodebook } from "./kmeans.js";
import { VqganModel } from "./model.js";
import { readModelSettings } from "./model-dir.js";
import { framesToPatches, referenceEncode } from "./patch-model.js";
import { meanColourBaseline, psnr } from "./quality.js";

const run = promisify(execFile);
let dir = "";
const at = (n: string) => join(dir, n);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lwm-patch-"));
  const ff = ffmpegBinaries().ffmpeg;
  await run(ff, ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p", at("a.mp4")]);
  await run(ff, ["-v", "error", "-f", "lavfi", "-i", "mandelbrot=size=300x300:rate=10", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", at("b.mp4")]);
  await run(ff, ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=256x256", "-frames:v", "1", at("c.png")]);
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("patch k-means model", () => {
  it("fits, skips non-media with a note, and its encoder graph equals the TypeScript reference", async () => {
    await writeFile(at("notes.txt"), "not media");
    const report = await fitPatchModel([dir], at("model"), { codes: 64, iterations: 4, fps: 2, maxFramesPerClip: 4, threads: 2 });
    expect(report.frames).toBe(4 + 4 + 1);
    expect(report.skipped.map((s) => s.file)).toEqual([at("notes.txt")]);
    expect(report.codebookEntries).toBe(64);
    expect(await readModelSettings(at("model"))).toMatchObject({ kind: "patch-kmeans", codebookSize: 64, downsample: 16, frameSize: 256 });

    const frames = await decodeAll(at("a.mp4"), { sampling: { frames: 2 } });
    const input = new Uint8Array(2 * 196608);
    frames.forEach((f, k) => input.set(f.rgb, k * 196608));
    const model = await VqganModel.load(at("model"), { threads: 2 });
    const codes = await model.encode(input, 2);
    const { rgb } = await model.decode(codes, 2);
    await model.release();
    const codebook = new Uint8Array(await readFile(at("model/codebook.bin")));
    expect([...codes.subarray(0, 256)]).toEqual([...referenceEncode(frames[0]!.rgb, codebook)]);
    expect([...codes.subarray(256)]).toEqual([...referenceEncode(frames[1]!.rgb, codebook)]);
    expect(rgb.length).toBe(input.length);
    expect(psnr(input, rgb)).toBeGreaterThan(10);
  }, 120_000);

  it("is bit-deterministic for a seed whatever the thread count", async () => {
    const frames = await decodeAll(at("b.mp4"), { sampling: { frames: 3 } });
    const all = new Uint8Array(3 * 196608);
    frames.forEach((f, k) => all.set(f.rgb, k * 196608));
    const patches = framesToPatches(all, 3);
    const one = await fitPatchCodebook(patches, { codes: 48, iterations: 5, seed: 9, threads: 1 });
    const two = await fitPatchCodebook(patches, { codes: 48, iterations: 5, seed: 9, threads: 2 });
    const other = await fitPatchCodebook(patches, { codes: 48, iterations: 5, seed: 10, threads: 2 });
    expect(Buffer.from(one.codebook).equals(Buffer.from(two.codebook))).toBe(true);
    expect(Buffer.from(one.assignment.buffer).equals(Buffer.from(two.assignment.buffer))).toBe(true);
    expect(Buffer.from(one.codebook).equals(Buffer.from(other.codebook))).toBe(false);
  }, 120_000);
});

const committed = resolve(__dirname, "../../../datasets/sample/vqgan");
const shared = resolve(__dirname, "../../../../shared/data/images");
describe.runIf(existsSync(join(committed, "model.json")))("the committed sample model (datasets/sample/vqgan)", () => {
  it("is at most 4 MB", async () => {
    let total = 0;
    for (const f of ["model.json", "encoder.onnx", "decoder.onnx", "codebook.bin"]) total += (await stat(join(committed, f))).size;
    expect(total).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
  it.runIf(existsSync(shared))(
    "beats the mean-colour palette baseline by ≥ 1 dB on shared images, and matches the TS reference",
    async () => {
      const names = ["camera.png", "chelsea.png", "coffee.png", "leopard.jpg", "rocket.jpg", "hand.jpg"];
      const input = new Uint8Array(names.length * 196608);
      for (const [k, n] of names.entries()) input.set((await decodeAll(join(shared, n)))[0]!.rgb, k * 196608);
      const model = await VqganModel.load(committed, { threads: 2 });
      const codes = await model.encode(input, names.length);
      const { rgb } = await model.decode(codes, names.length);
      await model.release();
      const codebook = new Uint8Array(await readFile(join(committed, "codebook.bin")));
      expect([...codes.subarray(0, 256)]).toEqual([...referenceEncode(input.subarray(0, 196608), codebook)]);
      const ours = psnr(input, rgb),
        base = psnr(input, meanColourBaseline(input, names.length, codebook.length / 768, 0));
      console.log(`committed model on ${names.length} shared images: PSNR ${ours.toFixed(2)} dB, mean-colour baseline ${base.toFixed(2)} dB`);
      expect(ours - base).toBeGreaterThanOrEqual(1);
    },
    120_000,
  );
});
if (!existsSync(shared)) console.warn(`skipped the shared-image PSNR check: ${shared} not found`);
