/**
 * The vision step end to end through the real CLI, on clips and stills made here with ffmpeg's
 * lavfi sources (plus one sample of every bad kind) and, when present, ../shared/data:
 * - every bad sample quarantined with its reason, the good ones encoded, packed and validated;
 * - the LWM layout and flags exactly per task; provenance timestamps that ffprobe agrees with;
 * - SIGKILL + rerun and slices + finalize give the bytes of one run; a frame-cap change re-encodes nothing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { listFiles } from "@lwm/core";
import type { Provenance, SourcedExample } from "@lwm/schemas";
import { readManifest, readStageExamples, ShardReader } from "@lwm/shards";
import { lwmSpawn, repoRoot, writeRecipe } from "./books-helpers.js";
// Async: a long spawnSync starves vitest's worker RPC on a loaded machine (docs/dependencies.md).
import { lwmQuiet } from "./cli.js";

const SAMPLE_VQ = join(repoRoot, "datasets/sample/vqgan");
const SHARED = resolve(repoRoot, "../shared/data");
const BOS = 1;
const EOS = 2;
const EOF = 8192;
const EOV = 8193;
const OPEN = [529, 4924, 29958]; // "<vision>" in the Llama-2 tokenizer, no BOS
const CLOSE = [1533, 4924, 29958]; // "</vision>"

function ffmpeg(args: string[]): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
}

/** Presentation times of every frame of a file's first video stream, as ffprobe reports them. */
function ffprobeTimes(file: string): number[] {
  const out = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file], {
    encoding: "utf8",
  });
  return out
    .split("\n")
    .map((l) => l.trim().replace(/,$/, ""))
    .filter(Boolean)
    .map(Number);
}

const X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bitexact"];

/** Good and bad media and a JSONL corpus naming them, one row per kind. */
async function fixtures(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const at = (n: string) => join(dir, n);
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=3", ...X264, at("moving.mp4")]);
  ffmpeg(["-f", "lavfi", "-i", "color=c=blue:s=160x120:r=8:d=2", "-vf", "drawbox=x='t*40':y=30:w=40:h=40:color=yellow:t=fill", ...X264, at("box.mp4")]);
  // Variable frame rate: 10 fps for 0.5 s, then a frame every 0.3 s (0, 0.1, …, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0).
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1.1", "-vf", "setpts='if(lt(N,5),N/10,0.5+(N-5)*0.3)/TB'", "-vsync", "vfr", ...X264, at("vfr.mp4")]);
  ffmpeg(["-f", "lavfi", "-i", "smptebars=s=128x96", "-frames:v", "1", at("bars.png")]);
  ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=32x24", "-frames:v", "1", at("tiny.png")]);
  ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=1", at("tone.wav")]);
  const whole = await readFile(at("moving.mp4"));
  await writeFile(at("cut.mp4"), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(at("notes.mp4"), "this is a text file with a video's name\n");
  await writeFile(at("empty-stream.y4m"), "YUV4MPEG2 W64 H64 F25:1 Ip A1:1 C420jpeg\n");
  const rows = [
    { id: "good-video", video: "moving.mp4", caption: "A test pattern with a moving gradient and a clock.", license: "CC0" },
    { id: "good-window", video: "box.mp4", caption: "A yellow square moves right over blue.", start: 0.5, end: 1.75 },
    { id: "good-still", video: "bars.png", caption: "Colour bars." },
    { id: "good-vfr", video: "vfr.mp4", caption: "A test pattern whose frames slow down after half a second." },
    { id: "missing", video: "nowhere.mp4", caption: "Never made." },
    { id: "no-path", caption: "A row without a media path." },
    { id: "not-media", video: "notes.mp4", caption: "Text, not video." },
    { id: "audio", video: "tone.wav", caption: "A tone." },
    { id: "zero", video: "empty-stream.y4m", caption: "A stream with no frames." },
    { id: "truncated", video: "cut.mp4", caption: "Half a file." },
    { id: "no-caption", video: "moving.mp4", caption: "   " },
    { id: "outside", video: "box.mp4", caption: "Past the end.", start: 5, end: 6 },
    { id: "small", video: "tiny.png", caption: "Too small." },
    { id: "long-caption", video: "bars.png", caption: "word ".repeat(2100).trim() },
  ];
  const lines = rows.map((r) => JSON.stringify(r));
  lines.splice(4, 0, "{not json");
  await writeFile(at("corpus.jsonl"), `${lines.join("\n")}\n`);
  await writeFile(at("stills.csv"), "key,image,text\ns1,bars.png,Colour bars from a test card.\ns2,moving.mp4,A frame of a test pattern.\n");
}

const EXPECTED_REJECTS: Record<string, string> = {
  missing: "missing path",
  "no-path": "missing path",
  "not-media": "not media",
  audio: "no video stream",
  zero: "zero duration",
  truncated: "truncated or decode failure",
  "no-caption": "caption missing or empty",
  outside: "clip window outside the media",
  small: "smaller than minSide",
  "long-caption": "does not fit seqLen",
};

function recipe(stageFrames: Record<string, number>, extra: Record<string, unknown> = {}) {
  return {
    formatVersion: 1,
    name: "vision-e2e",
    vqgan: SAMPLE_VQ,
    sources: [
      {
        kind: "video-text",
        name: "clips",
        corpus: "media/corpus.jsonl",
        columns: { media: "video", caption: "caption", start: "start", end: "end", id: "id" },
        tasks: { "video-text": 1, "text-video": 1 },
        minSide: 64,
        seed: 3,
      },
      {
        kind: "image-text",
        name: "stills",
        corpus: "media/stills.csv",
        columns: { media: "image", caption: "text", id: "key" },
        tasks: { "image-text": 1, "text-image": 1 },
        seed: 1,
      },
    ],
    steps: { vision: { unitSamples: 3 }, pack: { rowsPerShard: 8 } },
    stages: [{ name: "vl", kind: "vision-language", seqLen: 2048, ropeTheta: 5e7, frames: stageFrames, mixture: { clips: 2, stills: 1 } }],
    ...extra,
  };
}

interface StepReportJson {
  ok: boolean;
  units: { planned: number; executed: number; skipped: number };
  metrics: { executed: Record<string, number> };
  rejects: { total: number; byReason: Record<string, number> };
}

const readJson = async <T>(path: string) => JSON.parse(await readFile(path, "utf8")) as T;

/** What `lwm inspect <stage> --json` says about tasks. */
interface InspectTasks {
  vision: { clips: number; framesPerClip: { max: number }; tasks: { task: string; segments: number }[]; tasksFromLayout: number };
}

/** Segments per task as `lwm inspect` counts them, after checking each packed segment's task is its example's. */
async function packedTasks(out: string, examples: SourcedExample[], stage = "vl"): Promise<Record<string, number>> {
  const taskOf = new Map(examples.map((e) => [e.exampleId, e.task]));
  const manifest = await readManifest(join(out, stage, "manifest.json"));
  for (const shard of manifest.shards) {
    const reader = await ShardReader.open(join(out, stage, shard.file));
    for await (const row of reader.rows()) row.exampleIds.forEach((id, s) => expect(row.tasks?.[s], id).toBe(taskOf.get(id)));
    await reader.close();
  }
  const inspect = await lwmQuiet(["inspect", join(out, stage), "--json"]);
  expect(inspect.code, inspect.stderr).toBe(0);
  const summary = JSON.parse(inspect.stdout) as InspectTasks;
  expect(summary.vision.tasksFromLayout).toBe(0);
  const counts = Object.fromEntries(summary.vision.tasks.map((t) => [t.task, t.segments]));
  expect(manifest.formatVersion === 3 && manifest.totals.tasks).toEqual(counts);
  return counts;
}

async function examplesOf(out: string, stage = "vl"): Promise<SourcedExample[]> {
  const all: SourcedExample[] = [];
  for await (const e of readStageExamples(join(out, "work/vision/examples", stage))) all.push(e);
  return all;
}

/** work/vision/ files that must be byte-identical between runs. */
async function digest(out: string): Promise<Record<string, string>> {
  const files = await listFiles(join(out, "work", "vision"));
  return Object.fromEntries(files.filter((f) => !/^report.*\.json$/.test(f.path) && f.path !== "executions.log").map((f) => [f.path, f.sha256]));
}

const indexOfRun = (tokens: readonly number[], run: readonly number[], from = 0) => {
  for (let i = from; i + run.length <= tokens.length; i++) if (run.every((t, k) => tokens[i + k] === t)) return i;
  return -1;
};

/** Checks one example's tokens and flags against lwm-spec §1.4–1.5 for its task. */
function checkLayout(e: SourcedExample): void {
  const t = Array.from(e.tokens);
  const v = Array.from(e.vision);
  const l = Array.from(e.loss);
  const p = e.provenance as Extract<Provenance, { kind: "media" }>;
  const frames = p.frameTimestamps.length;
  expect(t[0]).toBe(BOS);
  expect(t[t.length - 1]).toBe(EOS);
  expect(t.filter((x, i) => x === BOS && v[i] === 0).length).toBe(1);
  const open = indexOfRun(t, OPEN);
  const blockEnd = open + OPEN.length + frames * 257;
  expect(open).toBeGreaterThan(0);
  expect(t.slice(blockEnd, blockEnd + CLOSE.length)).toEqual(CLOSE);
  for (let f = 0; f < frames; f++) expect(t[open + OPEN.length + f * 257 + 256]).toBe(f === frames - 1 ? EOV : EOF);
  // Vision flags on exactly the codes and delimiters.
  v.forEach((flag, i) => expect(flag, `vision[${i}]`).toBe(i >= open + OPEN.length && i < blockEnd ? 1 : 0));
  const toText = e.task === "image-text" || e.task === "video-text";
  if (toText) {
    expect(open).toBe(1); // BOS <vision> …
    l.forEach((flag, i) => expect(flag, `loss[${i}]`).toBe(i >= blockEnd + CLOSE.length ? 1 : 0));
  } else {
    expect(open).toBeGreaterThan(1); // BOS caption <vision> …
    expect(blockEnd + CLOSE.length).toBe(t.length - 1); // … </vision> EOS
    l.forEach((flag, i) => expect(flag, `loss[${i}]`).toBe(i >= open ? 1 : 0));
  }
  if (e.task === "image-text" || e.task === "text-image") expect(frames).toBe(1);
}

describe("vision step", () => {
  let dir: string;
  let recipePath: string;
  let out: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vision-step-"));
    await fixtures(join(dir, "media"));
    recipePath = await writeRecipe(dir, recipe({ fps: 2, maxFrames: 4 }));
    out = join(dir, "out");
    const res = await lwmQuiet(["run", "--steps", "vision,pack", recipePath, "--out", out, "--threads", "2", "--json"]);
    expect(res.code, res.stderr).toBe(0);
  });

  it("quarantines every bad sample with its reason; the good ones are encoded, packed and valid", async () => {
    const rejects = (await readFile(join(out, "work/vision/rejects.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { source: string; position: { line?: number }; reason: string });
    const corpus = (await readFile(join(dir, "media/corpus.jsonl"), "utf8")).trim().split("\n");
    const byId = new Map<string, string>();
    for (const r of rejects) {
      expect(r.source).toBe("media/corpus.jsonl");
      const line = corpus[r.position.line as number] as string;
      if (line === "{not json") {
        expect(r.reason).toMatch(/^unreadable row: invalid JSON/);
        continue;
      }
      byId.set((JSON.parse(line) as { id: string }).id, r.reason);
    }
    for (const [id, category] of Object.entries(EXPECTED_REJECTS)) expect(byId.get(id), id).toMatch(new RegExp(`^${category}: `));
    expect(byId.size).toBe(Object.keys(EXPECTED_REJECTS).length);

    const report = await readJson<StepReportJson>(join(out, "work/vision/report.json"));
    expect(report.ok).toBe(true);
    expect(report.rejects.total).toBe(11);
    expect(report.rejects.byReason).toMatchObject({ "missing path": 2, "unreadable row": 1, "not media": 1, "no video stream": 1, "zero duration": 1 });

    const examples = await examplesOf(out);
    const ids = examples.map((e) => (e.provenance as Extract<Provenance, { kind: "media" }>).corpus?.id);
    expect(ids.sort()).toEqual(["good-still", "good-vfr", "good-video", "good-window", "s1", "s2"]);
    const manifest = await readJson<{ mixture: { source: string; tokens: number }[]; totals: { rows: number } }>(join(out, "vl/manifest.json"));
    expect(manifest.mixture.map((m) => m.source).sort()).toEqual(["clips", "stills"]);
    const validate = await lwmQuiet(["validate", out, "--json"]);
    expect(validate.code, validate.stdout).toBe(0);
    expect(Object.keys(await packedTasks(out, examples)).sort()).toEqual(["image-text", "text-image", "text-video", "video-text"]);
  });

  it("lays out every task exactly as LWM does, with timestamps ffprobe agrees with", async () => {
    const examples = await examplesOf(out);
    expect(new Set(examples.map((e) => e.task))).toEqual(new Set(["video-text", "text-video", "image-text", "text-image"]));
    for (const e of examples) {
      checkLayout(e);
      const p = e.provenance as Extract<Provenance, { kind: "media" }>;
      expect(p.file.startsWith("media/")).toBe(true);
      const times = ffprobeTimes(join(dir, p.file));
      // Each frame's index and presentation time name the same frame of the file (of the window, when there is one).
      const framesOf = p.clip ? times.filter((t) => t >= p.clip!.startS && (p.clip!.endS === undefined || t < p.clip!.endS)) : times;
      if (times.length > 1) {
        expect(p.frameIndices, p.file).toHaveLength(p.frameTimestamps.length);
        p.frameIndices!.forEach((i, k) => expect(Math.abs(framesOf[i]! - p.frameTimestamps[k]!), `${p.file} frame ${i}`).toBeLessThan(1e-6));
      }
      for (const ts of p.frameTimestamps)
        expect(
          times.some((x) => Math.abs(x - ts) < 1e-6),
          `${p.file} t=${ts}`,
        ).toBe(true);
      if (p.corpus?.id === "good-vfr") {
        // 2 fps: the first frame at or after 0, 0.5, 1 and 1.5 s, with its own time (not the 0.5 s grid).
        expect(p.frameIndices).toEqual([0, 5, 7, 9]);
        p.frameTimestamps.forEach((t, k) => expect(t).toBeCloseTo([0, 0.5, 1.1, 1.7][k]!, 6));
      }
      if (p.corpus?.id === "good-video") {
        // 2 fps, at most 4 frames: the frames at 0, 0.5, 1, 1.5 s of a 10 fps clip.
        expect(p.frameTimestamps).toEqual([0, 0.5, 1, 1.5]);
        expect(p.corpus.extra).toEqual({ license: "CC0" });
      }
      if (p.corpus?.id === "good-window") {
        expect(p.clip).toEqual({ startS: 0.5, endS: 1.75 });
        for (const ts of p.frameTimestamps) expect(ts >= 0.5 && ts < 1.75).toBe(true);
        expect(p.frameTimestamps.length).toBe(3);
      }
    }
  });

  it("after SIGKILL, a rerun gives the bytes of one run and redoes no finished unit", async () => {
    const killed = join(dir, "killed");
    const child = lwmSpawn(["run", "--steps", "vision", recipePath, "--out", killed, "--threads", "1"]);
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const log = join(killed, "work/vision/executions.log");
    const done = async () =>
      (await readFile(log, "utf8").catch(() => ""))
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; key: string })
        .filter((e) => e.event === "done");
    for (let i = 0; i < 3000 && (await done()).length < 1; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await exited;
    const before = new Set((await done()).map((e) => e.key));
    expect(before.size).toBeGreaterThan(0);
    const res = await lwmQuiet(["run", "--steps", "vision", recipePath, "--out", killed, "--threads", "1", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const after = (await done()).map((e) => e.key);
    expect(after.length).toBe(new Set(after).size); // no unit finished twice
    expect(await digest(killed)).toEqual(await digest(out));
  }, 600_000);

  it("two slices and a finalizing run give the bytes of one run", async () => {
    const sliced = join(dir, "sliced");
    for (const i of [0, 1])
      expect((await lwmQuiet(["run", "--steps", "vision", recipePath, "--out", sliced, "--task-index", String(i), "--task-count", "2"])).code).toBe(0);
    expect((await lwmQuiet(["run", "--steps", "vision", recipePath, "--out", sliced])).code).toBe(0);
    expect(await digest(sliced)).toEqual(await digest(out));
  }, 600_000);

  it("a smaller frame cap and another task share redo the units but re-encode no frame", async () => {
    const changed = recipe({ fps: 2, maxFrames: 2 });
    changed.sources[0] = { ...changed.sources[0]!, tasks: { "video-text": 1 } } as (typeof changed.sources)[0];
    await writeFile(recipePath, JSON.stringify(changed));
    const cacheFiles = async () => (await listFiles(join(out, "work/vision/cache/codes"))).map((f) => `${f.path} ${f.sha256}`).sort();
    const before = await cacheFiles();
    const res = await lwmQuiet(["run", "--steps", "vision", recipePath, "--out", out, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = await readJson<StepReportJson & { details: { thisRun: { framesEncoded: number; clipsDecoded: number } } }>(
      join(out, "work/vision/report.json"),
    );
    expect(report.units.executed).toBe(report.units.planned);
    expect(report.details.thisRun).toMatchObject({ framesEncoded: 0, clipsDecoded: 0 });
    expect(await cacheFiles()).toEqual(before);
    const good = (await examplesOf(out)).find((e) => (e.provenance as Extract<Provenance, { kind: "media" }>).corpus?.id === "good-video");
    expect((good?.provenance as Extract<Provenance, { kind: "media" }>).frameTimestamps).toEqual([0, 0.5]);
    expect(good?.task).toBe("video-text");
  });

  it("packs clips that kept one frame as video-text, and lwm inspect counts them so, not as images", async () => {
    const oneFrame = recipe({ fps: 2, maxFrames: 1 });
    oneFrame.sources[0] = { ...oneFrame.sources[0]!, tasks: { "video-text": 1 } } as (typeof oneFrame.sources)[0];
    await writeFile(recipePath, JSON.stringify(oneFrame));
    const res = await lwmQuiet(["run", "--steps", "vision,pack", recipePath, "--out", out, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const examples = await examplesOf(out);
    const clips = examples.filter((e) => e.source === "clips");
    expect(clips.length).toBeGreaterThan(0);
    for (const e of clips) expect((e.provenance as Extract<Provenance, { kind: "media" }>).frameTimestamps).toHaveLength(1);
    const counts = await packedTasks(out, examples);
    // Every packed clip segment is its example's video-text (packedTasks), none an image task read off a 1-frame layout.
    expect(counts["video-text"]).toBeGreaterThan(0);
    expect(counts["text-video"]).toBeUndefined();
    expect((await lwmQuiet(["validate", join(out, "vl")])).code).toBe(0);
  });
});

describe("vision step on ../shared/data", () => {
  const present = existsSync(join(SHARED, "videos/captions.jsonl")) && existsSync(join(SHARED, "images/captions.jsonl"));
  if (!present) console.warn(`skipped: ${SHARED}/videos and images are not in this checkout; the vision step ran on generated media only`);
  it.skipIf(!present)(
    "encodes the shared videos and images into valid vision-language shards, timestamps as ffprobe says",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "vision-shared-"));
      const path = await writeRecipe(dir, {
        formatVersion: 1,
        name: "vision-shared",
        vqgan: SAMPLE_VQ,
        sources: [
          {
            kind: "video-text",
            name: "videos",
            corpus: join(SHARED, "videos/captions.jsonl"),
            columns: { media: "video", caption: "caption" },
            tasks: { "video-text": 1, "text-video": 1 },
          },
          {
            kind: "image-text",
            name: "images",
            corpus: join(SHARED, "images/captions.jsonl"),
            columns: { media: "image", caption: "caption" },
            tasks: { "image-text": 1, "text-image": 1 },
          },
        ],
        stages: [{ name: "vl", kind: "vision-language", seqLen: 1024, ropeTheta: 5e7, frames: { fps: 1, maxFrames: 3 }, mixture: { videos: 1, images: 1 } }],
      });
      const out = join(dir, "out");
      const res = await lwmQuiet(["run", "--steps", "vision,pack", path, "--out", out, "--threads", "2"]);
      expect(res.code, res.stderr).toBe(0);
      expect((await lwmQuiet(["validate", out])).code).toBe(0);
      const examples = await examplesOf(out);
      const videos = (await readFile(join(SHARED, "videos/captions.jsonl"), "utf8")).trim().split("\n").length;
      const images = (await readFile(join(SHARED, "images/captions.jsonl"), "utf8")).trim().split("\n").length;
      expect(examples.length).toBe(videos + images);
      for (const e of examples) {
        checkLayout(e);
        const p = e.provenance as Extract<Provenance, { kind: "media" }>;
        if (e.source !== "videos") continue;
        const file = resolve(dir, p.file);
        // Only the first seconds: fps 1, at most 3 frames (1024 tokens leave room for 3).
        const probe = spawnSync(
          "ffprobe",
          ["-v", "error", "-select_streams", "v:0", "-read_intervals", "%+5", "-show_entries", "frame=best_effort_timestamp_time", "-of", "csv=p=0", file],
          { encoding: "utf8" },
        );
        const times = probe.stdout
          .split("\n")
          .map((l) => l.replace(/,$/, "").trim())
          .filter((x) => x !== "" && x !== "N/A")
          .map(Number);
        const interval = Math.min(
          ...times
            .slice(1)
            .map((x, k) => x - (times[k] as number))
            .filter((d) => d > 0),
        );
        // fps 1: frame k is the first at or after k s (these clips start at 0), with its own index and time.
        expect(p.frameIndices, p.file).toHaveLength(p.frameTimestamps.length);
        p.frameTimestamps.forEach((ts, k) => {
          expect(Math.abs(times[p.frameIndices![k]!]! - ts), `${p.file} frame ${p.frameIndices![k]}`).toBeLessThan(1e-6);
          expect(ts - k, `${p.file} t=${ts}`).toBeGreaterThanOrEqual(-1e-6);
          expect(ts - k, `${p.file} t=${ts}`).toBeLessThan(interval + 1e-6);
        });
      }
    },
    600_000,
  );
});
