import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ffmpegBinaries } from "@lwm/video";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lwm, requireBuiltCli } from "../test-helpers/lwm.js";

const MODEL = resolve(__dirname, "../../../../datasets/sample/vqgan");
let dir: string;
beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "lwm-cli-vqgan-"));
  await promisify(execFile)(ffmpegBinaries().ffmpeg, [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=320x240:rate=25:duration=2",
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    join(dir, "clip.mp4"),
  ]);
}, 60_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("lwm vqgan with the sample model (datasets/sample/vqgan)", () => {
  it("encode writes uint16 [frames, 256] codes and the frames' times; decode writes a PNG contact sheet", async () => {
    const enc = await lwm(["vqgan", "encode", join(dir, "clip.mp4"), "--model", MODEL, "--frames", "4", "--out", join(dir, "codes.npy"), "--json"]);
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    expect(JSON.parse(enc.stdout)).toMatchObject({ count: 4, codesPerFrame: 256 });
    const npy = await readFile(join(dir, "codes.npy"));
    expect(npy.toString("latin1", 0, 128)).toMatch(/'descr': '<u2', 'fortran_order': False, 'shape': \(4, 256\)/);
    const times = JSON.parse(await readFile(join(dir, "codes.frames.json"), "utf8")) as { frames: { sourceIndex: number; ptsS: number }[] };
    expect(times.frames.map((f) => f.sourceIndex)).toEqual([0, 16, 32, 49]);
    expect(times.frames.map((f) => f.ptsS)).toEqual([0, 0.64, 1.28, 1.96]);

    const dec = await lwm(["vqgan", "decode", join(dir, "codes.npy"), "--model", MODEL, "--out", join(dir, "sheet.png")]);
    expect(dec.code).toBe(0);
    const png = await readFile(join(dir, "sheet.png"));
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
  }, 120_000);

  it("bad media exit 1 naming the file; bad flags exit 2", async () => {
    await writeFile(join(dir, "notes.mp4"), "plain text, not a video\n");
    const bad = await lwm(["vqgan", "encode", join(dir, "notes.mp4"), "--model", MODEL, "--out", join(dir, "x.npy")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(dir, "notes.mp4")}: not an image or video`);
    const flag = await lwm(["vqgan", "encode", join(dir, "clip.mp4"), "--model", MODEL, "--fps", "2", "--frames", "3", "--out", join(dir, "y.npy")]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--fps and --frames are alternatives");
    const none = await lwm(["vqgan", "decode", join(dir, "missing.npy"), "--model", MODEL, "--out", join(dir, "z.png")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing.npy");
  }, 120_000);
});
