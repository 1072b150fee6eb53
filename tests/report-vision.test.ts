/**
 * `lwm report` on a vision-language dataset (vision-helpers: lavfi media, the sample's VQ model,
 * packed by pack): the Vision section shows contact sheets of sampled rows, decoded by the VQ
 * model, at most 16 frames as JPEG data: URIs, captions escaped; in chromium (when installed) the
 * page loads nothing, logs no error, and every frame is drawn.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, hasChromium, withPageInChromium } from "./chromium.js";
import { decodePng, luminanceVariance } from "./png.js";
import { buildVisionStage, type VisionFixture } from "./vision-helpers.js";
import { CLI, lwmQuiet } from "./cli.js";

if (!hasChromium) console.warn(`skipped: the browser check of the Vision section needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);

interface ReportJson {
  report: string;
  bytes: number;
  sections: { id: string; present: boolean; why: string | null }[];
  problems: string[];
}

let root: string;
let fx: VisionFixture;
let report: string;
let made: ReportJson;

/** The Vision section's markup. */
const visionHtml = (page: string) =>
  page.slice(page.indexOf('<section id="section-vision">'), page.indexOf("</section>", page.indexOf('<section id="section-vision">')));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync(join(tmpdir(), "lwm-report-vision-"));
  fx = await buildVisionStage(root, { repeat: 3 });
  report = join(root, "report.html");
  const run = await lwmQuiet(["report", fx.outDir, "--vqgan", fx.modelDir, "--out", report, "--json"]);
  expect(run.code, run.stderr).toBe(0);
  made = JSON.parse(run.stdout) as ReportJson;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lwm report on a vision-language dataset", () => {
  it("shows contact sheets decoded by the VQ model: at most 16 JPEG data: frames, captions escaped, nothing loaded from anywhere", () => {
    expect(made.sections.find((s) => s.id === "vision")).toMatchObject({ present: true });
    expect(made.problems).toEqual([]);
    const page = readFileSync(report, "utf8");
    const vision = visionHtml(page);
    const frames = [...vision.matchAll(/<img src="data:image\/jpeg;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, "base64"));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThanOrEqual(16);
    for (const jpeg of frames) expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(vision).toContain(`Decoded with the VQ model <code>${fx.modelDir}</code>`);
    expect(vision).toMatch(/vision → text: loss on the text/);
    expect(vision).toMatch(/text → vision: loss on the frames/);
    // Captions are data: escaped, never markup.
    expect(vision).toContain("A &lt;testsrc2&gt; test pattern: a moving colour gradient &amp; a running counter.");
    expect(page).not.toContain("<testsrc2>");
    expect(page).not.toMatch(/(src|href)="https?:/);
  });

  it("without a VQ model, the section says what to give", async () => {
    const run = await lwmQuiet(["report", fx.outDir, "--no-validate", "--out", join(root, "plain.html"), "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const vision = (JSON.parse(run.stdout) as ReportJson).sections.find((s) => s.id === "vision")!;
    expect(vision.present).toBe(false);
    expect(vision.why).toContain("--vqgan DIR");
    expect(readFileSync(join(root, "plain.html"), "utf8")).not.toContain("data:image/jpeg");
  });

  it.skipIf(!hasChromium)(
    "opens in chromium with no console error and no request, every frame decoded and drawn, the section not blank",
    () =>
      withPageInChromium(report, async ({ page, url, errors, requests }) => {
        expect(errors).toEqual([]);
        expect(requests).toEqual([url]);
        const section = page.locator("#section-vision");
        const images = await section.locator("img").evaluateAll((imgs) =>
          imgs.map((i) => {
            const img = i as unknown as { complete: boolean; naturalWidth: number };
            return { complete: img.complete, width: img.naturalWidth };
          }),
        );
        expect(images.length).toBeGreaterThan(1);
        for (const i of images) expect(i).toEqual({ complete: true, width: 128 });
        expect(await section.innerText()).toContain("A <testsrc2> test pattern");
        const shot = decodePng(await section.screenshot());
        expect(luminanceVariance(shot)).toBeGreaterThan(100);
      }),
    120_000,
  );
});
