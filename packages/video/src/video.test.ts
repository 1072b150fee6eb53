import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecodeFailedError, MediaNotFoundError, NoVideoStreamError, NotMediaError, TruncatedMediaError, ZeroDurationError } from "./errors.js";
import { decodeAll, decodeFrames, planDecode } from "./decode.js";
import { fifoPool } from "./fifo.js";
import { probeMedia } from "./probe.js";
import { linspaceIndices } from "./sampling.js";
/** ffprobe prints times with 6 decimals. */
function expectTimes(actual: number[], expected: (number | undefined)[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((t, k) => expect(Math.abs(t - expected[k]!)).toBeLessThan(1e-6 + 1e-9));
}
import { ffmpegRun, ffprobeFrameTimes, testsrc, withExifOrientation } from "./test-helpers/media.js";

let dir = "";
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lwm-video-"));
  // 100 frames at 25 fps, 4:3: every frame's time is k/25.
  await ffmpegRun([...testsrc(320, 240, 25, 4), "-c:v", "libx264", "-pix_fmt", "yuv420p", at("cfr.mp4")]);
  // Portrait, variable frame rate: 50 frames at 25 fps then 20 frames at 10 fps.
  await ffmpegRun([
    ...testsrc(240, 320, 25, 2.8),
    "-vf",
    "setpts='if(lt(N,50),N/25,2+(N-50)/10)/TB'",
    "-vsync",
    "vfr",
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    at("vfr.mp4"),
  ]);
  // WebM: no frame count in the container, so it is counted from packets.
  await ffmpegRun([...testsrc(320, 180, 10, 3), "-c:v", "libvpx", "-b:v", "200k", at("clip.webm")]);
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", at("rgb.png")]);
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-pix_fmt", "gray", at("gray.png")]);
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-pix_fmt", "rgba", at("alpha.png")]);
  // Translucent (alpha 0.3 everywhere) and palette (pal8) versions of rgb.png.
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-vf", "format=rgba,colorchannelmixer=aa=0.3", at("translucent.png")]);
  await ffmpegRun([
    ...testsrc(300, 200, 1, 1),
    "-frames:v",
    "1",
    "-vf",
    "split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=none",
    "-pix_fmt",
    "pal8",
    at("palette.png"),
  ]);
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-q:v", "2", at("photo.jpg")]);
  await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-q:v", "2", at("upright.jpg")]);
  await ffmpegRun([...testsrc(300, 200, 5, 1), "-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse", at("anim.gif")]);
  writeFileSync(at("png-named.mp4"), readFileSync(at("rgb.png")));
  writeFileSync(at("text.mp4"), "this is not a video\n".repeat(100));
  writeFileSync(at("empty.mp4"), "");
  await ffmpegRun(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", at("audio.mp4")]);
  const whole = readFileSync(at("cfr.mp4"));
  writeFileSync(at("truncated.mp4"), whole.subarray(0, Math.floor(whole.length / 2)));
  // moov first (faststart), then cut: the header promises 100 frames, the file holds fewer.
  await ffmpegRun(["-i", at("cfr.mp4"), "-c", "copy", "-movflags", "+faststart", at("faststart.mp4")]);
  const fs = readFileSync(at("faststart.mp4"));
  writeFileSync(at("truncated-faststart.mp4"), fs.subarray(0, Math.floor(fs.length * 0.6)));
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("probe", () => {
  it("reads size, frame count, duration and frame rate; caches by content", async () => {
    const p = await probeMedia(at("cfr.mp4"));
    expect(p).toMatchObject({ kind: "video", width: 320, height: 240, frameCount: 100, frameCountSource: "stream", frameRate: 25 });
    expect(p.durationS).toBeCloseTo(4, 3);
    expect(await probeMedia(at("cfr.mp4"))).toBe(p);
  });
  it("counts packets when the container has no frame count (webm)", async () => {
    expect(await probeMedia(at("clip.webm"))).toMatchObject({ frameCount: 30, frameCountSource: "packets" });
  });
});

describe("sampling by index: floor(linspace(0, n-1, N))", () => {
  it("matches numpy's indices", () => {
    const py = process.env.LWM_PYTHON ?? "/usr/bin/python3";
    let numpy: string | null = null;
    try {
      numpy = execFileSync(
        py,
        [
          "-c",
          "import numpy as np, json; print(json.dumps([np.linspace(0,n-1,N).astype(int).tolist() for n,N in [(100,7),(301,30),(1000,450),(4001,4000),(12345,8),(97,96)]]))",
        ],
        { encoding: "utf8" },
      );
    } catch {
      console.warn(`skipped numpy comparison: ${py} with numpy not found (set LWM_PYTHON)`);
    }
    if (numpy)
      expect(JSON.parse(numpy)).toEqual(
        [
          [100, 7],
          [301, 30],
          [1000, 450],
          [4001, 4000],
          [12345, 8],
          [97, 96],
        ].map(([n, N]) => linspaceIndices(n!, N!)),
      );
    expect(linspaceIndices(5, 8)).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps the frames and times ffprobe lists at those indices", async () => {
    const all = await ffprobeFrameTimes(at("cfr.mp4"));
    expect(all).toHaveLength(100);
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { frames: 7 } });
    const idx = linspaceIndices(100, 7);
    expect(frames.map((f) => f.sourceIndex)).toEqual(idx);
    expectTimes(
      frames.map((f) => f.ptsS),
      idx.map((i) => all[i]),
    );
    expect(frames.every((f) => f.rgb.length === 256 * 256 * 3)).toBe(true);
  }, 60_000);

  it("samples a variable-frame-rate file by its own timestamps", async () => {
    const all = await ffprobeFrameTimes(at("vfr.mp4"));
    // 70 frames with Debian's ffmpeg 5.1; the npm-shipped 2018 build writes 68. Both are VFR.
    const gaps = all.slice(1).map((t, k) => t - all[k]!);
    expect(Math.min(...gaps)).toBeLessThan(0.06);
    expect(Math.max(...gaps)).toBeGreaterThan(0.08);
    const frames = await decodeAll(at("vfr.mp4"), { sampling: { frames: 9 } });
    expectTimes(
      frames.map((f) => f.ptsS),
      linspaceIndices(all.length, 9).map((i) => all[i]),
    );
  }, 60_000);

  it("a clip window seeks and samples the frames inside it", async () => {
    const all = await ffprobeFrameTimes(at("cfr.mp4"));
    const inside = all.filter((t) => t >= 1 && t < 3);
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { frames: 5 }, window: { startS: 1, endS: 3 } });
    expectTimes(
      frames.map((f) => f.ptsS),
      linspaceIndices(inside.length, 5).map((i) => inside[i]),
    );
    expect((await planDecode(at("cfr.mp4"), { window: { startS: 1, endS: 3 } })).args.input).toContain("-ss");
  }, 60_000);

  it("webm: packet count drives linspace", async () => {
    const all = await ffprobeFrameTimes(at("clip.webm"));
    const frames = await decodeAll(at("clip.webm"), { sampling: { frames: 4 } });
    expectTimes(
      frames.map((f) => f.ptsS),
      linspaceIndices(30, 4).map((i) => all[i]),
    );
  }, 60_000);
});

/** The fps rule restated over ffprobe's times: for each t₀ + k/fps, the first frame at or after it, once. */
function firstAtOrAfterGrid(times: number[], fps: number): number[] {
  const kept: number[] = [];
  let next = 0;
  times.forEach((t, i) => {
    const since = t - times[0]!;
    if (since + 1e-6 < next) return;
    kept.push(i);
    next = (Math.floor(since * fps + 1e-6) + 1) / fps;
  });
  return kept;
}

describe("sampling by fps: each frame's own index and presentation time", () => {
  it("a constant-rate clip: the first frame at or after each 1/fps step", async () => {
    const all = await ffprobeFrameTimes(at("cfr.mp4"));
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { fps: 4 } });
    // 25 fps at 4 fps: 0, 0.28 (first frame ≥ 0.25), 0.52 (≥ 0.5), 0.76 (≥ 0.75), 1, …
    expect(frames.map((f) => f.sourceIndex)).toEqual(firstAtOrAfterGrid(all, 4));
    expect(frames.map((f) => f.sourceIndex).slice(0, 5)).toEqual([0, 7, 13, 19, 25]);
    expectTimes(
      frames.map((f) => f.ptsS),
      frames.map((f) => all[f.sourceIndex]),
    );
    expect(frames).toHaveLength(16);
  }, 60_000);
  it("a variable-frame-rate clip: real timestamps, not the k/fps grid", async () => {
    const all = await ffprobeFrameTimes(at("vfr.mp4"));
    const frames = await decodeAll(at("vfr.mp4"), { sampling: { fps: 4 } });
    expect(frames.map((f) => f.sourceIndex)).toEqual(firstAtOrAfterGrid(all, 4));
    expectTimes(
      frames.map((f) => f.ptsS),
      frames.map((f) => all[f.sourceIndex]),
    );
    // In the 10 fps part the grid times (2.25, 2.5, …) fall between frames: the kept frames say when they are.
    const offGrid = frames.filter((f) => Math.abs(f.ptsS * 4 - Math.round(f.ptsS * 4)) > 1e-3);
    expect(offGrid.length).toBeGreaterThan(0);
    expect(new Set(frames.map((f) => f.sourceIndex)).size).toBe(frames.length);
  }, 60_000);
  it("inside a window: indices count from the window's first frame", async () => {
    const inside = (await ffprobeFrameTimes(at("vfr.mp4"))).filter((t) => t >= 1 && t < 4);
    const frames = await decodeAll(at("vfr.mp4"), { sampling: { fps: 2 }, window: { startS: 1, endS: 4 } });
    expect(frames.map((f) => f.sourceIndex)).toEqual(firstAtOrAfterGrid(inside, 2));
    expectTimes(
      frames.map((f) => f.ptsS),
      frames.map((f) => inside[f.sourceIndex]),
    );
    expect(frames[0]!.ptsS).toBeCloseTo(1, 6);
  }, 60_000);
  it("a frame cap stops early", async () => {
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { fps: 10 }, maxFrames: 3 });
    expect(frames.map((f) => f.sourceIndex)).toEqual([0, 3, 5]);
    expectTimes(
      frames.map((f) => f.ptsS),
      [0, 0.12, 0.2],
    );
  }, 60_000);
});

describe("pixels", () => {
  it("equal ffmpeg's own output of the same filter chain", async () => {
    const plan = await planDecode(at("cfr.mp4"), { sampling: { frames: 3 } });
    const raw = await ffmpegRun(["-i", at("cfr.mp4"), "-vf", plan.args.filters.join(","), ...plan.args.output, "-"]);
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { frames: 3 } });
    expect(raw.length).toBe(3 * 196608);
    frames.forEach((f, k) => expect(Buffer.from(f.rgb).equals(raw.subarray(k * 196608, (k + 1) * 196608))).toBe(true));
  }, 60_000);

  it.each(["fifo", "stdout"] as const)(
    "%s: reused frame buffers hold the same pixels, each until the next frame",
    async (transport) => {
      const plan = await planDecode(at("cfr.mp4"));
      const raw = await ffmpegRun(["-i", at("cfr.mp4"), "-vf", plan.args.filters.join(","), ...plan.args.output, "-"]);
      const buffers = new Set<ArrayBufferLike>();
      let k = 0;
      for await (const f of decodeFrames(at("cfr.mp4"), { reuseFrames: true, transport })) {
        expect(Buffer.from(f.rgb).equals(raw.subarray(k * 196608, ++k * 196608)), `frame ${k - 1}`).toBe(true);
        buffers.add(f.rgb.buffer);
      }
      expect(k).toBe(100);
      expect(buffers.size).toBeLessThanOrEqual(6);
      await expect(decodeAll(at("cfr.mp4"), { reuseFrames: true })).rejects.toThrow(/reuseFrames/);
    },
    60_000,
  );

  it("a decode stopped early leaves nothing behind: the next decodes get whole, correct frames", async () => {
    const plan = await planDecode(at("cfr.mp4"), { sampling: { frames: 5 } });
    const raw = await ffmpegRun(["-i", at("cfr.mp4"), "-vf", plan.args.filters.join(","), ...plan.args.output, "-"]);
    for (let round = 0; round < 3; round++) {
      let taken = 0;
      for await (const _ of decodeFrames(at("cfr.mp4"))) if (++taken === 2) break;
      const frames = await decodeAll(at("cfr.mp4"), { sampling: { frames: 5 } });
      expect(frames.map((f) => f.sourceIndex)).toEqual(plan.indices);
      frames.forEach((f, k) => expect(Buffer.from(f.rgb).equals(raw.subarray(k * 196608, (k + 1) * 196608)), `round ${round} frame ${k}`).toBe(true));
    }
  }, 120_000);

  it("a FIFO that vanished (temporary folder cleaned away) falls back to stdout, same frames", async () => {
    const plan = await planDecode(at("cfr.mp4"), { sampling: { frames: 3 } });
    const raw = await ffmpegRun(["-i", at("cfr.mp4"), "-vf", plan.args.filters.join(","), ...plan.args.output, "-"]);
    const fifo = await fifoPool.acquire();
    if (fifo) {
      rmSync(fifo);
      fifoPool.release(fifo, true); // the next decode gets this path back
    }
    const frames = await decodeAll(at("cfr.mp4"), { sampling: { frames: 3 } });
    expect(frames).toHaveLength(3);
    frames.forEach((f, k) => expect(Buffer.from(f.rgb).equals(raw.subarray(k * 196608, (k + 1) * 196608))).toBe(true));
  }, 60_000);

  it("portrait video: short side 256, centre crop", async () => {
    const plan = await planDecode(at("vfr.mp4"));
    expect(plan.args.filters).toContain("crop=256:256:0:42");
    expect(plan.args.filters.some((f) => f.startsWith("scale=256:341:"))).toBe(true);
  });
});

describe("images", () => {
  it.each(["rgb.png", "gray.png", "alpha.png", "photo.jpg", "anim.gif", "png-named.mp4"])(
    "%s decodes to one RGB frame",
    async (name) => {
      const probe = await probeMedia(at(name));
      expect(probe.kind).toBe("image");
      const frames = await decodeAll(at(name));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.ptsS).toBe(0);
      expect(frames[0]!.rgb.length).toBe(196608);
    },
    60_000,
  );

  it("grayscale gives R = G = B; a PNG named .mp4 decodes by content like the .png", async () => {
    const [gray] = await decodeAll(at("gray.png"));
    const g = gray!.rgb;
    let same = true;
    for (let p = 0; p < g.length; p += 3) if (g[p] !== g[p + 1] || g[p] !== g[p + 2]) same = false;
    expect(same).toBe(true);
    const [a] = await decodeAll(at("rgb.png"));
    const [b] = await decodeAll(at("png-named.mp4"));
    expect(Buffer.from(a!.rgb).equals(Buffer.from(b!.rgb))).toBe(true);
  }, 60_000);
});

describe("image pixel formats and EXIF orientation", () => {
  const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, k) => s + Math.abs(v - b[k]!), 0) / a.length;

  it("alpha is dropped, not blended (as PIL's convert('RGB')); a palette PNG decodes to its colours", async () => {
    const [rgb] = await decodeAll(at("rgb.png"));
    const [translucent] = await decodeAll(at("translucent.png"));
    expect(Buffer.from(translucent!.rgb).equals(Buffer.from(rgb!.rgb))).toBe(true);
    const [palette] = await decodeAll(at("palette.png"));
    expect((await probeMedia(at("palette.png"))).kind).toBe("image");
    expect(meanAbsDiff(palette!.rgb, rgb!.rgb)).toBeLessThan(3);
  }, 60_000);

  // Stored pixels = the upright picture turned by the inverse of what the tag says; decoding must undo it.
  const storedBy: Record<number, string> = { 2: "hflip", 3: "hflip,vflip", 4: "vflip", 5: "transpose=0", 6: "transpose=2", 7: "transpose=3", 8: "transpose=1" };
  it.each([2, 3, 4, 5, 6, 7, 8])(
    "a JPEG with EXIF Orientation %i decodes upright",
    async (o) => {
      const stored = at(`stored-${o}.jpg`);
      await ffmpegRun([...testsrc(300, 200, 1, 1), "-frames:v", "1", "-vf", storedBy[o]!, "-q:v", "2", stored]);
      const tagged = at(`exif-${o}.jpg`);
      writeFileSync(tagged, withExifOrientation(readFileSync(stored), o));
      expect(await probeMedia(tagged)).toMatchObject({ kind: "image", exifOrientation: o, width: 300, height: 200 });
      const [upright] = await decodeAll(at("upright.jpg"));
      const [decoded] = await decodeAll(tagged);
      const [untagged] = await decodeAll(stored);
      // JPEG blocks differ once turned, so "equal" is within a few levels; the untagged file is far off.
      expect(meanAbsDiff(decoded!.rgb, upright!.rgb)).toBeLessThan(3);
      expect(meanAbsDiff(untagged!.rgb, upright!.rgb)).toBeGreaterThan(20);
    },
    60_000,
  );
});

describe("bad media give typed errors", () => {
  it.each([
    ["missing.mp4", MediaNotFoundError, "no such file"],
    ["text.mp4", NotMediaError, "not an image or video"],
    ["empty.mp4", NotMediaError, "empty file"],
    ["audio.mp4", NoVideoStreamError, "no video stream"],
    ["truncated.mp4", TruncatedMediaError, "truncated"],
    ["truncated-faststart.mp4", TruncatedMediaError, "truncated"],
  ])(
    "%s",
    async (name, type, words) => {
      const err = await decodeAll(at(name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toContain(at(name));
      expect((err as Error).message).toContain(words);
    },
    60_000,
  );

  it("zero duration and decode failures are typed too", () => {
    expect(new ZeroDurationError("x.mp4").kind).toBe("zero-duration");
    expect(new DecodeFailedError("x.mp4", 1.5, "boom").message).toBe("x.mp4: decode failed at t = 1.500 s: boom");
  });
});

const shared = resolve(__dirname, "../../../../shared/data");
describe.runIf(existsSync(shared))("../shared/data", () => {
  const videos = existsSync(join(shared, "videos")) ? readdirSync(join(shared, "videos")).filter((f) => /\.(mp4|webm)$/.test(f)) : [];
  const images = existsSync(join(shared, "images")) ? readdirSync(join(shared, "images")).filter((f) => /\.(png|jpg)$/.test(f)) : [];
  // Two clips by index over the whole file (one mp4, one webm without a frame count), the rest by a window.
  it.each(videos)(
    "videos/%s: frames at ffprobe's times",
    async (name) => {
      const file = join(shared, "videos", name);
      const all = await ffprobeFrameTimes(file);
      const probe = await probeMedia(file);
      if (name === "friday.mp4" || name === "flower.webm") {
        const frames = await decodeAll(file, { sampling: { frames: 8 } });
        expectTimes(
          frames.map((f) => f.ptsS),
          linspaceIndices(probe.frameCount, 8).map((i) => all[i]),
        );
      } else {
        const inside = all.filter((t) => t >= 1 && t < 2);
        const frames = await decodeAll(file, { sampling: { frames: 4 }, window: { startS: 1, endS: 2 } });
        expectTimes(
          frames.map((f) => f.ptsS),
          linspaceIndices(inside.length, 4).map((i) => inside[i]),
        );
      }
    },
    120_000,
  );
  it("images: every one probes as an image; a png and a jpg decode to one frame", async () => {
    for (const name of images) expect((await probeMedia(join(shared, "images", name))).kind).toBe("image");
    for (const name of ["camera.png", "hand.jpg"].filter((n) => images.includes(n))) expect(await decodeAll(join(shared, "images", name))).toHaveLength(1);
  }, 120_000);
});
if (!existsSync(shared)) console.warn(`skipped ../shared/data tests: ${shared} not found`);
