/**
 * `lwm inspect <stage> --row N --render row.png` on a real vision-language stage (vision-helpers:
 * lavfi media encoded by the sample's VQ model and packed): the PNG has every block's frames,
 * not blank, exactly the VQ decoder's pixels for the codes the source frame was encoded to, and
 * closer to that source frame than to another clip's (PSNR). The sample's patch model was fitted on
 * natural images, so lavfi's saturated test patterns come back at only 10–15 dB (measured), which
 * is why the floor is low and the comparison is against another clip.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { psnr, VqganModel } from "@lwm/vqgan";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePng, luminanceVariance, type Pixels } from "./png.js";
import { buildVisionStage, type SourceMedia, type VisionFixture } from "./vision-helpers.js";
import { CLI, lwmQuiet } from "./cli.js";

interface RenderJson {
  segments: { index: number; provenance: { kind: string; file?: string; frameTimestamps?: number[] }; visionBlocks: { frames: number }[] }[];
  render: {
    png: string;
    width: number;
    height: number;
    blocks: number;
    note: string | null;
    frames: { segment: number; block: number; frame: number; left: number; top: number; size: number; seconds: number | null }[];
  };
}

/** A size×size RGB crop of a decoded PNG. */
function crop(p: Pixels, left: number, top: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = p.data[((top + y) * p.width + left + x) * p.channels + c]!;
  return out;
}

const frameOf = (m: SourceMedia, k: number) => m.frames.subarray(k * 256 * 256 * 3, (k + 1) * 256 * 256 * 3);

let root: string;
let fx: VisionFixture;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync(join(tmpdir(), "lwm-inspect-render-"));
  fx = await buildVisionStage(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lwm inspect of a vision-language stage", () => {
  it("summarises clips, frames, tasks and the modality mix, as text and as --json", async () => {
    const stage = join(fx.outDir, fx.stage);
    const { code, stdout, stderr } = await lwmQuiet(["inspect", stage, "--json"]);
    expect(code, stderr).toBe(0);
    const s = JSON.parse(stdout) as {
      realTokens: number;
      textTokens: number;
      visionTokens: number;
      vision: { clips: number; frames: number; tasks: { task: string; segments: number; tokens: number }[]; tasksFromLayout: number };
    };
    const frames = fx.media.reduce((n, m) => n + 2 * m.count, 0);
    expect(s.vision.clips).toBe(fx.examples.length);
    expect(s.vision.frames).toBe(frames);
    expect(s.visionTokens).toBe(frames * 257);
    expect(s.textTokens).toBe(s.realTokens - s.visionTokens);
    const tasks = new Map<string, number>();
    for (const e of fx.examples) tasks.set(e.task, (tasks.get(e.task) ?? 0) + 1);
    expect(Object.fromEntries(s.vision.tasks.map((t) => [t.task, t.segments]))).toEqual(Object.fromEntries(tasks));
    expect(s.vision.tasksFromLayout).toBe(0); // every task read from the column

    const human = await lwmQuiet(["inspect", stage]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^vision +${fx.examples.length} clips, ${frames} frames \\(per clip min 1, mean [\\d.]+, max 3\\)$`, "m"));
    expect(human.stdout).toMatch(/^tasks +.*text-video 2 .*video-text 2 .*image-text 1 .*text-image 1 .*\(recorded per segment\)$/m);
    expect(human.stdout).toMatch(/^modality +text \d+ \(\d+\.\d%\) +vision \d+ \(\d+\.\d%\)$/m);
  });
});

describe("lwm inspect --render", () => {
  it("draws every vision block of a row as decoded frames beside captions and times", async () => {
    const stage = join(fx.outDir, fx.stage);
    const png = join(root, "row.png");
    const { code, stdout, stderr } = await lwmQuiet(["inspect", stage, "--row", "0", "--render", png, "--vqgan", fx.modelDir, "--json"]);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as RenderJson;
    const blocks = out.segments.flatMap((s) => s.visionBlocks);
    expect(out.render.blocks).toBe(blocks.length);
    expect(out.render.frames).toHaveLength(blocks.reduce((n, b) => n + b.frames, 0));
    expect(out.render.note).toBeNull();

    const image = decodePng(readFileSync(png));
    const model = await VqganModel.load(fx.modelDir);
    expect([image.width, image.height]).toEqual([out.render.width, out.render.height]);
    for (const f of out.render.frames) {
      expect(f.left + f.size).toBeLessThanOrEqual(image.width);
      expect(f.top + f.size).toBeLessThanOrEqual(image.height);
      const pixels = crop(image, f.left, f.top, f.size);
      expect(
        luminanceVariance({ width: f.size, height: f.size, channels: 3, data: pixels }),
        `frame ${f.frame} of segment ${f.segment} is blank`,
      ).toBeGreaterThan(100);

      // The source frame this one was encoded from: the segment's media file, the frame's timestamp.
      const prov = out.segments.find((s) => s.index === f.segment)!.provenance;
      const media = fx.media.find((m) => m.file === prov.file)!;
      const k = media.timestamps.indexOf(f.seconds!);
      expect(k, `frame at ${f.seconds}s of ${prov.file}`).toBeGreaterThanOrEqual(0);
      const decoded = await model.decode(media.codes.subarray(k * 256, (k + 1) * 256), 1);
      expect(Buffer.from(pixels).equals(Buffer.from(decoded.rgb)), `frame ${f.frame} of segment ${f.segment} is not the decoder's output`).toBe(true);
      const own = psnr(pixels, frameOf(media, k));
      for (const other of fx.media.filter((m) => m.file !== media.file)) {
        const wrong = psnr(pixels, frameOf(other, 0));
        expect(own, `${prov.file} at ${f.seconds}s: ${own.toFixed(2)} dB vs ${wrong.toFixed(2)} dB against ${other.file}`).toBeGreaterThan(
          Math.max(9, wrong + 2),
        );
      }
    }
    await model.release();
  });

  it("finds the model through the recipe's vqgan, prints a line without --json, and says what is missing", async () => {
    const stage = join(fx.outDir, fx.stage);
    const recipe = join(root, "vision-recipe.json");
    writeFileSync(recipe, JSON.stringify({ vqgan: relative(root, fx.modelDir) }));
    const png = join(root, "row1.png");
    const human = await lwmQuiet(["inspect", stage, "--row", "1", "--render", png, "--recipe", recipe]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^rendered \d+ vision block\(s\), \d+ frame\(s\) to .*row1\.png \(\d+×\d+\)$/m);
    expect(existsSync(png)).toBe(true);

    const noModel = await lwmQuiet(["inspect", stage, "--row", "0", "--render", join(root, "x.png")]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain("--vqgan DIR");
    const noRow = await lwmQuiet(["inspect", stage, "--render", join(root, "x.png"), "--vqgan", fx.modelDir]);
    expect(noRow.code).toBe(2);
    expect(noRow.stderr).toContain("give --row N");
    expect(existsSync(join(root, "x.png"))).toBe(false);
  });
});
