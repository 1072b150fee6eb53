import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLAMA2_LWM_VOCAB, type ExampleRecord } from "@lwm/schemas";
import { assembleRow, shardMetadata, writeStage, type PackedRow } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lwm, requireBuiltCli } from "../test-helpers/lwm.js";
import { writeTestStage } from "../test-helpers/stage.js";

const SEQ = 1024;
const V = LLAMA2_LWM_VOCAB;

let dir: string;
let rows: PackedRow[];
let tokenizerSha = "";

/** BOS + prompt (no loss) + answer + EOS (loss), as a QA chat lays it out. */
async function chat(id: number, prompt: string, answer: string): Promise<ExampleRecord> {
  const tokenizer = await loadTokenizer();
  tokenizerSha = tokenizer.sha256;
  const p = await tokenizer.encode(prompt);
  const a = await tokenizer.encode(answer);
  const n = 1 + p.length + a.length + 1;
  const tokens = new Uint16Array(n);
  tokens[0] = V.bosId;
  tokens.set(p, 1);
  tokens.set(a, 1 + p.length);
  tokens[n - 1] = V.eosId;
  const loss = new Uint8Array(n).fill(1, 1 + p.length);
  return {
    exampleId: id.toString(16).padStart(32, "0"),
    task: "qa-chat",
    tokens,
    vision: new Uint8Array(n),
    loss,
    provenance: { kind: "text-file", file: "books/moby.txt", fileSha256: "a".repeat(64), bytes: { start: 10, end: 90 } },
  };
}

/** BOS, 2 frames (codes + <eof>, codes + <eov>), caption with loss, EOS. */
function imageCaption(id: number): ExampleRecord {
  const frame = V.tokensPerFrame + 1;
  const n = 1 + 2 * frame + 3 + 1;
  const tokens = new Uint16Array(n);
  const vision = new Uint8Array(n);
  const loss = new Uint8Array(n);
  tokens[0] = V.bosId;
  for (let f = 0; f < 2; f++) {
    for (let c = 0; c < V.tokensPerFrame; c++) tokens[1 + f * frame + c] = (c * 7 + f) % V.visionCodes;
    tokens[1 + f * frame + V.tokensPerFrame] = f === 1 ? V.eovId : V.eofId;
    vision.fill(1, 1 + f * frame, 1 + (f + 1) * frame);
  }
  tokens.set([450, 4799, 29889, V.eosId], 1 + 2 * frame);
  loss.fill(1, 1 + 2 * frame);
  return {
    exampleId: id.toString(16).padStart(32, "f"),
    task: "video-text",
    tokens,
    vision,
    loss,
    provenance: { kind: "media", file: "videos/clip.mp4", fileSha256: "b".repeat(64), frameTimestamps: [0, 0.5] },
  };
}

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "lwm-cli-inspect-"));
  const q = await chat(1, "You are a helpful assistant. USER: Who hunts the whale? ASSISTANT:", "Captain Ahab.");
  const fields = {
    stage: "vl-1k",
    stageKind: "vision-language",
    seqLen: SEQ,
    vocab: V,
    tokenizerSha256: tokenizerSha,
    vqganSha256: "c".repeat(64),
    rowsPerBatch: 2,
  } as const;
  rows = [assembleRow(SEQ, V, [q, imageCaption(2)]), assembleRow(SEQ, V, [imageCaption(3), q, q]), assembleRow(SEQ, V, [q])];
  await writeTestStage(dir, fields, rows);
  // The same rows as format 2 wrote them: no task column.
  const formatTwo = { ...shardMetadata(fields), formatVersion: 2, stageKind: fields.stageKind } as const;
  const lineage = { recipe: { name: "cli-test", sha256: "0".repeat(64) }, steps: [], codeVersion: "test" };
  await mkdir(`${dir}-v2`);
  await writeStage(`${dir}-v2`, formatTwo, rows, { sources: () => ({ mixture: [], inputs: [], lineage }) });
});
afterAll(async () => {
  for (const d of [dir, `${dir}-root`, `${dir}-v2`]) await rm(d, { recursive: true, force: true });
});

describe("lwm inspect", () => {
  it("summarises rows, fill, loss share, modality mix, segments, lengths and sources", async () => {
    const { code, stdout } = await lwm(["inspect", dir, "--json"]);
    expect(code).toBe(0);
    const s = JSON.parse(stdout) as Record<string, unknown>;
    const q = (await chat(1, "You are a helpful assistant. USER: Who hunts the whale? ASSISTANT:", "Captain Ahab.")).tokens.length;
    const img = imageCaption(0).tokens.length;
    const real = 4 * q + 2 * img;
    expect(s).toMatchObject({
      rows: 3,
      tokens: 3 * SEQ,
      realTokens: real,
      segments: 6,
      visionTokens: 4 * 257,
      textTokens: real - 4 * 257,
      segmentsPerRow: { min: 1, max: 3 },
      sources: [
        { source: "videos/clip.mp4", segments: 2, tokens: 2 * img },
        { source: "books/moby.txt", segments: 4, tokens: 4 * q },
      ],
    });
    expect(s.fill).toBeCloseTo(real / (3 * SEQ), 12);
    expect(s.vision).toEqual({
      clips: 2,
      frames: 4,
      framesPerClip: { min: 2, mean: 2, max: 2 },
      tasks: [
        { task: "qa-chat", segments: 4, tokens: 4 * q },
        { task: "video-text", segments: 2, tokens: 2 * img },
      ],
      tasksFromLayout: 0,
    });

    const human = await lwm(["inspect", join(dir, "manifest.json")]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^rows +3$/m);
    expect(human.stdout).toMatch(/^modality +text \d+ \(\d+\.\d%\) +vision 1028 /m);
    expect(human.stdout).toMatch(/^vision +2 clips, 4 frames \(per clip min 2, mean 2\.00, max 2\)$/m);
    expect(human.stdout).toMatch(/^tasks +qa-chat 4 \(\d+\.\d%\) +video-text 2 \(\d+\.\d%\) +\(recorded per segment\)$/m);
    expect(human.stdout).toMatch(/^ {2}\[512, 1024\) +2 +█+$/m);
    expect(human.stdout).toMatch(/^ {2}books\/moby\.txt +4 +\d+$/m);
  });

  it("shows a row's segments with decoded text, loss marks, vision blocks, weights and provenance", async () => {
    const { code, stdout, stderr } = await lwm(["inspect", join(dir, "shard-00000.arrow"), "--row", "1"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^row 1 = shard-00000\.arrow row 1: 3 segments/);
    expect(stdout).toContain("<s>You are a helpful assistant. USER: Who hunts the whale? ASSISTANT:«Captain Ahab.</s>»");
    expect(stdout).toMatch(/vision: \[1, 515\) 2 frames\n/);
    expect(stdout).toContain("source: media videos/clip.mp4 frames at 0s, 0.5s");
    expect(stdout).toContain("source: text-file books/moby.txt bytes [10, 90)");
    const header = stdout.split("\n").find((l) => l.trimStart().startsWith("seg"))!;
    expect(header).toMatch(/seg +task +tokens +len +text +vision +loss t\/v +w_text +w_vision +example/);
    expect(stdout).toMatch(/^ +0 +video-text +\[0, /m);
    expect(stdout).toMatch(/^ +1 +qa-chat +\[\d+, /m);

    const json = await lwm(["inspect", dir, "--row", "0", "--json"]);
    const row = JSON.parse(json.stdout) as {
      segments: { task: string; taskFromLayout: boolean; weightText: number; weightVision: number; visionBlocks: { frames: number }[]; text: string }[];
    };
    expect(row.segments).toHaveLength(2);
    expect(row.segments.map((s) => [s.task, s.taskFromLayout])).toEqual([
      ["qa-chat", false],
      ["video-text", false],
    ]);
    expect(row.segments[1]!.visionBlocks).toEqual([{ start: expect.any(Number), end: expect.any(Number), frames: 2, loss: false }]);
    expect(row.segments[1]!.weightText).toBeCloseTo(1 / 4, 7);
    expect(row.segments[1]!.weightVision).toBe(0);
  });

  it("reads format 2 shards, reading each task off the layout and saying so", async () => {
    const v2 = `${dir}-v2`;
    expect((await lwm(["validate", v2])).code).toBe(0);
    const human = await lwm(["inspect", v2]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      /^tasks +text 4 \(\d+\.\d%\) +video-text 2 \(\d+\.\d%\) +\(read off the layout: shards before format 3 record no task, so a 1-frame video counts as an image\)$/m,
    );
    const row = await lwm(["inspect", v2, "--row", "1"]);
    expect(row.code, row.stderr).toBe(0);
    expect(row.stdout).toContain("tasks read off the layout: shard-00000.arrow is format 2, which records no task");
    expect(row.stdout).toMatch(/^ +1 +text +\[\d+, /m);
  });

  it("takes an output root as lwm validate does: one summary per stage folder", async () => {
    // `lwm run --out root` lays stages out as root/<stage>/manifest.json + shards.
    const root = `${dir}-root`;
    for (const stage of ["a", "b"]) await cp(dir, join(root, stage), { recursive: true });
    expect((await lwm(["validate", root])).code).toBe(0);

    const { code, stdout, stderr } = await lwm(["inspect", root, "--json"]);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as { root: string; stages: { stage: string; summary: { rows: number; segments: number } }[] };
    expect(out.root).toBe(root);
    expect(out.stages.map((s) => [s.stage, s.summary.rows, s.summary.segments])).toEqual([
      ["a", 3, 6],
      ["b", 3, 6],
    ]);

    const human = await lwm(["inspect", root]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`== stage a (${join(root, "a")})`);
    expect(human.stdout.match(/^rows +3$/gm)).toHaveLength(2);

    const row = await lwm(["inspect", root, "--row", "0"]);
    expect(row.code).toBe(2);
    expect(row.stderr).toContain("--row needs one stage");
    expect((await lwm(["inspect", join(root, "b"), "--row", "0"])).code).toBe(0);
  });

  it("exits 2 for a missing target or a row past the end", async () => {
    expect((await lwm(["inspect", join(dir, "nope")])).code).toBe(2);
    expect((await lwm(["inspect", dir, "--row", "3"])).code).toBe(2);
    expect((await lwm(["inspect", dir, "--row", "-1"])).code).toBe(2);
  });
});
