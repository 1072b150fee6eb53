import { copyFile, mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LLAMA2_LWM_VOCAB, type Manifest, type ShardEntry, type TaskKind } from "@lwm/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUFFER_INDEX } from "../columns.js";
import { manifestTotals, writeManifest } from "../manifest.js";
import { ShardWriter } from "../writer.js";
import { ShardReader } from "../reader.js";
import type { PackedRow } from "../row.js";
import { tempDir, testStageMetadata, writeRandomShard, writeTestStage } from "../test-helpers/shard-files.js";
import { validate } from "./validate.js";
import type { ValidationReport } from "./report.js";

const SEQ = 2048;
const PER_BATCH = 4;
let dir: string;
let cleanup: () => Promise<void>;
let pristine: string;
let rows: PackedRow[];
let entry: ShardEntry;
let caseNo = 0;

/** Byte layout of the pristine shard, read once: where a row's values live in the file. */
let locate: {
  /** File offset of byte `byte` of buffer `buffer` in the batch holding row r. */
  byte(r: number, buffer: number, byte: number): number;
  /** File offset and bit of token t's flag (vision or loss) in row r. */
  bit(r: number, buffer: number, t: number): { offset: number; bit: number };
  /** File offset of token t of row r. */
  token(r: number, t: number): number;
  /** Index of row r's first per-segment entry in its batch. */
  firstSegment(r: number): number;
};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  pristine = join(dir, "pristine.arrow");
  ({ rows, entry } = await writeRandomShard(pristine, { rows: 11, seqLen: SEQ, rowsPerBatch: PER_BATCH, seed: 11 }));
  const reader = await ShardReader.open(pristine);
  const blocks = reader.layout.batches;
  const batches = await Promise.all(blocks.map((_, i) => reader.readBatch(i)));
  await reader.close();
  const where = (r: number) => ({ block: blocks[Math.floor(r / PER_BATCH)]!, local: r % PER_BATCH, batch: batches[Math.floor(r / PER_BATCH)]! });
  locate = {
    byte(r, buffer, byte) {
      const { block } = where(r);
      return block.bodyOffset + block.buffers[buffer]!.offset + byte;
    },
    bit(r, buffer, t) {
      const { local } = where(r);
      const i = local * SEQ + t;
      return { offset: this.byte(r, buffer, i >> 3), bit: i & 7 };
    },
    token(r, t) {
      return this.byte(r, BUFFER_INDEX.tokens, (where(r).local * SEQ + t) * 2);
    },
    firstSegment(r) {
      const { batch, local } = where(r);
      return batch.weightTextOffsets[local]!;
    },
  };
});
afterAll(async () => cleanup());

/** Copies the pristine shard (and optionally a manifest) into a fresh folder and applies `patch` to its bytes. */
async function patched(patch: (bytes: Buffer) => void | Buffer, withManifest = false): Promise<{ shard: string; dir: string }> {
  const d = join(dir, `case-${caseNo++}`);
  await mkdir(d);
  const shard = join(d, entry.file);
  const bytes = await readFile(pristine);
  await writeFile(shard, patch(bytes) ?? bytes);
  if (withManifest) await writeManifest(d, manifestFor([entry]));
  return { shard, dir: d };
}

function manifestFor(shards: ShardEntry[]): Manifest {
  return { formatVersion: 1, stage: "test", seqLen: SEQ, shards, totals: manifestTotals(shards), mixture: [], inputs: [] };
}

function rulesOf(report: ValidationReport): string[] {
  return Object.keys(report.errorCounts).sort();
}

/** First row and segment (index ≥ 1) satisfying `pred`, so edits land after the first batch. */
function findSegment(pred: (row: PackedRow, s: number) => boolean): { r: number; s: number } {
  for (let r = PER_BATCH + 1; r < rows.length; r++) {
    const row = rows[r]!;
    for (let s = 1; s < row.cuSeqlens.length - 1; s++) if (pred(row, s)) return { r, s };
  }
  throw new Error("no such segment in the fixture");
}

const setBit = (bytes: Buffer, at: { offset: number; bit: number }) => {
  bytes[at.offset]! |= 1 << at.bit;
};

describe("validate", () => {
  it("accepts a good shard alone, in a folder, and through its manifest", async () => {
    const { shard, dir: d } = await patched(() => undefined, true);
    for (const target of [shard, d, join(d, "manifest.json")]) {
      const report = await validate(target);
      expect(report.errors, target).toEqual([]);
      expect(report).toMatchObject({ ok: true, shards: 1, rows: 11, tokens: 11 * SEQ, truncated: false, errorCounts: {} });
    }
  });

  it("reports a flipped byte through the manifest's sha256 (manifest.sha256)", async () => {
    // Flip the low bit of a text token that is neither BOS/EOS nor pad: the content stays valid.
    const r = PER_BATCH + 2;
    const t = Array.from(rows[r]!.tokens).findIndex((id, i) => i > 0 && !rows[r]!.vision[i] && id > 10);
    const { dir: d } = await patched((b) => {
      b[locate.token(r, t)]! ^= 1;
    }, true);
    const report = await validate(d);
    expect(rulesOf(report)).toEqual(["manifest.sha256"]);
    expect(report.errors[0]).toMatchObject({ shard: entry.file, rule: "manifest.sha256" });
    // The lone shard has no manifest to compare with, so it is still valid.
    expect((await validate(join(d, entry.file))).ok).toBe(true);
  });

  it("reports a truncated file (io.truncated) and counts mismatch through the manifest", async () => {
    const { shard } = await patched((b) => b.subarray(0, Math.floor(b.length / 2)));
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["io.truncated"]);
    expect(report.errors[0]!.message).toMatch(/ends at byte/);
    // Only the end-of-stream marker missing is truncation too.
    const { dir: d } = await patched(() => undefined, true);
    await truncate(join(d, entry.file), entry.bytes - 8);
    expect(rulesOf(await validate(d))).toEqual(["io.truncated", "manifest.counts", "manifest.sha256"]);
  });

  it("reports metadata that breaks ShardMetadata (meta.schema) or the schema it describes (arrow.schema)", async () => {
    const edit = (from: string, to: string) => (b: Buffer) => {
      const at = b.indexOf(from);
      expect(at).toBeGreaterThan(0);
      expect(to.length).toBe(from.length);
      b.write(to, at, "latin1");
    };
    expect(rulesOf(await validate((await patched(edit('"formatVersion":1', '"formatVersion":7'))).shard))).toEqual(["meta.schema"]);
    expect(rulesOf(await validate((await patched(edit('"tokenDtype":"uint16"', '"tokenDtype":"uint32"'))).shard))).toEqual(["arrow.schema"]);
    expect(rulesOf(await validate((await patched(edit(`"seqLen":${SEQ}`, `"seqLen":${SEQ / 2}`))).shard))).toEqual(["arrow.schema"]);
  });

  it("reports loss on a segment's first token (loss.first-token) and the weight it then contradicts", async () => {
    const { r, s } = findSegment(() => true);
    const start = rows[r]!.cuSeqlens[s]!;
    const { shard } = await patched((b) => setBit(b, locate.bit(r, BUFFER_INDEX.loss, start)));
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["loss.first-token", "weight.value"]);
    expect(report.errors.find((e) => e.rule === "loss.first-token")).toMatchObject({ shard: entry.file, row: r, token: start });
  });

  it("reports loss on padding (loss.padding)", async () => {
    const r = rows.findIndex((row, i) => i >= PER_BATCH && row.cuSeqlens[row.cuSeqlens.length - 1]! < SEQ - 3);
    const t = SEQ - 2;
    const { shard } = await patched((b) => setBit(b, locate.bit(r, BUFFER_INDEX.loss, t)));
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["loss.padding"]);
    expect(report.errors[0]).toMatchObject({ row: r, token: t, rule: "loss.padding" });
  });

  it("reports a wrong <eof> or <eov> (vision.layout)", async () => {
    const multiFrame = findSegment((row, s) => {
      let eofs = 0;
      for (let i = row.cuSeqlens[s]!; i < row.cuSeqlens[s + 1]!; i++) if (row.vision[i] && row.tokens[i] === 8192) eofs++;
      return eofs > 0;
    });
    const seg = rows[multiFrame.r]!;
    const range = Array.from({ length: seg.cuSeqlens[multiFrame.s + 1]! - seg.cuSeqlens[multiFrame.s]! }, (_, k) => seg.cuSeqlens[multiFrame.s]! + k);
    const eof = range.find((i) => seg.vision[i] && seg.tokens[i] === 8192)!;
    const eov = range.find((i) => seg.vision[i] && seg.tokens[i] === 8193)!;

    const eofToEov = await validate(
      (
        await patched((b) => {
          b.writeUInt16LE(8193, locate.token(multiFrame.r, eof));
        })
      ).shard,
    );
    expect(rulesOf(eofToEov)).toEqual(["vision.layout"]);
    expect(eofToEov.errors[0]).toMatchObject({ row: multiFrame.r, token: eof + 1 });

    const eovToEof = await validate(
      (
        await patched((b) => {
          b.writeUInt16LE(8192, locate.token(multiFrame.r, eov));
        })
      ).shard,
    );
    expect(rulesOf(eovToEof)).toEqual(["vision.layout"]);
    expect(eovToEof.errors[0]).toMatchObject({ row: multiFrame.r, token: eov + 1 });

    const codeToEof = await validate(
      (
        await patched((b) => {
          b.writeUInt16LE(8192, locate.token(multiFrame.r, eof - 3));
        })
      ).shard,
    );
    expect(rulesOf(codeToEof)).toEqual(["vision.layout"]);
    expect(codeToEof.errors[0]).toMatchObject({ row: multiFrame.r, token: eof - 3 });
  });

  it("reports an id outside its table (token.range)", async () => {
    const r = PER_BATCH + 3;
    const t = Array.from(rows[r]!.tokens).findIndex((id, i) => i > 0 && !rows[r]!.vision[i]);
    const { shard } = await patched((b) => {
      b.writeUInt16LE(40000, locate.token(r, t));
    });
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["token.range"]);
    expect(report.errors[0]).toMatchObject({ row: r, token: t, rule: "token.range" });
  });

  it("reports a wrong stored weight (weight.value)", async () => {
    const { r, s } = findSegment((row, k) => row.weightText[k]! > 0);
    const { shard } = await patched((b) => {
      b.writeFloatLE(rows[r]!.weightText[s]! * 1.001, locate.byte(r, BUFFER_INDEX.weightText, (locate.firstSegment(r) + s) * 4));
    });
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["weight.value"]);
    expect(report.errors[0]).toMatchObject({ row: r, rule: "weight.value" });
    expect(report.errors[0]!.message).toContain(`segment ${s} weight_text`);
  });

  it("reports padding in the middle of a row (pad.tail)", async () => {
    const { r, s } = findSegment(
      (row, k) => row.cuSeqlens[k + 1]! - row.cuSeqlens[k]! > 4 && !row.vision[row.cuSeqlens[k]! + 2] && !row.loss[row.cuSeqlens[k]! + 2],
    );
    const t = rows[r]!.cuSeqlens[s]! + 2;
    const { shard } = await patched((b) => {
      b.writeUInt16LE(0, locate.token(r, t));
    });
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["pad.tail"]);
    expect(report.errors[0]).toMatchObject({ row: r, token: t, rule: "pad.tail" });
  });

  it("reports segments that stop before the real tokens do (pad.tail on non-pad tail tokens)", async () => {
    // Shrink the last cu_seqlens entry of a row: its last segment's tokens now lie in the "padding".
    const r = PER_BATCH + 1;
    const nseg = rows[r]!.cuSeqlens.length - 1;
    const last = rows[r]!.cuSeqlens[nseg]!;
    const first = rows[r]!.cuSeqlens[nseg - 1]!;
    const reader = await ShardReader.open(pristine);
    const batch = await reader.readBatch(1);
    await reader.close();
    const idx = batch.cuOffsets[1]! + nseg;
    const { shard } = await patched((b) => {
      b.writeInt32LE(first + 1, locate.byte(r, BUFFER_INDEX.cuSeqlens, idx * 4));
    });
    const report = await validate(shard, { maxErrors: 5 });
    expect(report.errorCounts["pad.tail"]).toBeGreaterThan(0);
    expect(report.errors.find((e) => e.rule === "pad.tail")).toMatchObject({ row: r, token: first + 1 });
    expect(report.truncated).toBe(last - first - 1 > 5);
  });

  it("reports cu_seqlens that do not increase (segment.layout)", async () => {
    const r = PER_BATCH + 1;
    const { shard } = await patched((b) => {
      // cu_seqlens[1] of row r := 0, equal to cu_seqlens[0].
      const offsetAt = locate.byte(r, BUFFER_INDEX.cuSeqlensOffsets, (r % PER_BATCH) * 4);
      b.writeInt32LE(0, locate.byte(r, BUFFER_INDEX.cuSeqlens, (b.readInt32LE(offsetAt) + 1) * 4));
    });
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["segment.layout"]);
    expect(report.errors[0]).toMatchObject({ row: r, token: null });
  });

  it("reports list offsets that run backwards (arrow.batch)", async () => {
    const r = PER_BATCH + 1;
    const { shard } = await patched((b) => {
      b.writeInt32LE(-5, locate.byte(r, BUFFER_INDEX.cuSeqlensOffsets, ((r % PER_BATCH) + 1) * 4));
    });
    const report = await validate(shard);
    expect(rulesOf(report)).toEqual(["arrow.batch"]);
    expect(report.errors[0]!.message).toMatch(/cu_seqlens list offsets decrease/);
  });

  it("reports a bad example id (segment.example-id) and provenance that is not a Provenance (segment.provenance)", async () => {
    const r = PER_BATCH;
    const ids = await patched((b) => {
      b[locate.byte(r, BUFFER_INDEX.exampleIdData, locate.firstSegment(r) * 32)] = "G".charCodeAt(0);
    });
    const idReport = await validate(ids.shard);
    expect(rulesOf(idReport)).toEqual(["segment.example-id"]);
    expect(idReport.errors[0]).toMatchObject({ row: r });

    const prov = await patched((b) => {
      const at = b.indexOf('"kind":"text-file"', locate.byte(r, BUFFER_INDEX.provenanceData, 0));
      b.write('"kind":"text-fil!"', at, "latin1");
    });
    const provReport = await validate(prov.shard);
    expect(rulesOf(provReport)).toEqual(["segment.provenance"]);
  });

  it("reports bytes after the end-of-stream marker (arrow.stream)", async () => {
    const { shard } = await patched((b) => Buffer.concat([b, Buffer.from([1, 2, 3, 4])]));
    expect(rulesOf(await validate(shard))).toEqual(["arrow.stream"]);
  });

  it("reports a shard whose stage differs from its manifest's (manifest.meta)", async () => {
    const { dir: d } = await patched(() => undefined);
    await writeManifest(d, { ...manifestFor([entry]), stage: "other" });
    expect(rulesOf(await validate(d))).toEqual(["manifest.meta"]);
  });

  it("throws for a target that does not exist, and for a folder with nothing to validate", async () => {
    await expect(validate(join(dir, "missing.arrow"))).rejects.toThrow(/ENOENT/);
    const empty = join(dir, "empty");
    await mkdir(empty);
    await expect(validate(empty)).rejects.toThrow(/no manifest.json/);
  });

  it("validates every <stage>/manifest.json of an output root, and finds errors in any of them", async () => {
    const root = join(dir, "out-root");
    for (const stage of ["a", "b"]) {
      await mkdir(join(root, stage), { recursive: true });
      await copyFile(pristine, join(root, stage, entry.file));
      await writeManifest(join(root, stage), manifestFor([entry]));
    }
    await mkdir(join(root, "work"));
    const good = await validate(root);
    expect(good.ok).toBe(true);
    expect(good.shards).toBe(2);
    const bytes = await readFile(join(root, "b", entry.file));
    bytes[bytes.length - 20]! ^= 0xff;
    await writeFile(join(root, "b", entry.file), bytes);
    const bad = await validate(root);
    expect(bad.ok).toBe(false);
    expect(bad.errors.map((e) => e.rule)).toContain("manifest.sha256");
  });

  it("reports shards missing from or unlisted in the manifest, and wrong totals", async () => {
    const { dir: d } = await patched(() => undefined);
    await copyFile(pristine, join(d, "extra.arrow"));
    const ghost = { ...entry, file: "ghost.arrow" };
    const m = manifestFor([entry, ghost]);
    m.totals.rows += 1;
    await writeManifest(d, m);
    const report = await validate(d);
    expect(rulesOf(report)).toEqual(["manifest.files", "manifest.totals"]);
    expect(report.errorCounts["manifest.files"]).toBe(2);
  });
});

/** The fixture's rows as a current-format shard of this stage kind (`name` names the file). */
async function currentFormatShard(stageKind: "text" | "vision-language", shardRows: PackedRow[], name = `kind-${stageKind}.arrow`): Promise<string> {
  const path = join(dir, name);
  const meta = testStageMetadata({ stage: "test", stageKind, seqLen: SEQ, rowsPerBatch: PER_BATCH });
  const writer = await ShardWriter.create(path, meta);
  for (const row of shardRows) await writer.append(row); // the random rows hold image examples
  await writer.close();
  return path;
}

describe("stage kind (format version 2 on)", () => {
  const shardOfKind = (stageKind: "text" | "vision-language") => currentFormatShard(stageKind, rows);

  it("a text stage's shard that holds vision tokens breaks stage.kind, once per segment, naming row and token", async () => {
    const report = await validate(await shardOfKind("text"));
    const kindErrors = report.errors.filter((e) => e.rule === "stage.kind");
    expect(kindErrors.length).toBeGreaterThan(0);
    expect(report.errors.every((e) => e.rule === "stage.kind")).toBe(true);
    expect(kindErrors[0]).toMatchObject({ row: expect.any(Number), token: expect.any(Number) });
    expect(kindErrors[0]!.message).toMatch(/holds vision tokens, but the shard's stageKind is "text"/);
  });

  it("the same rows as a vision-language stage are valid", async () => {
    const report = await validate(await shardOfKind("vision-language"));
    expect(report.errors).toEqual([]);
  });
});

describe("task column (format version 3)", () => {
  /** The fixture's rows with segment s of row r recorded as `task` (the writer checks shape only, so it writes the lie). */
  async function shardWithTask(r: number, s: number, task: string): Promise<string> {
    const edited = rows.map((row, i) => (i === r ? { ...row, tasks: row.tasks!.map((t, k) => (k === s ? (task as TaskKind) : t)) } : row));
    return currentFormatShard("vision-language", edited, `task-${caseNo++}.arrow`);
  }

  const framesOf = (row: PackedRow, s: number) => {
    let frames = 0;
    for (let i = row.cuSeqlens[s]!; i < row.cuSeqlens[s + 1]!; i++) if (row.vision[i] && row.tokens[i]! >= LLAMA2_LWM_VOCAB.eofId) frames++;
    return frames;
  };

  it("reports a task the segment's layout contradicts (segment.task), naming shard, row and segment", async () => {
    const video = findSegment((row, k) => row.tasks![k] === "video-text" && framesOf(row, k) > 1);
    const asImage = await validate(await shardWithTask(video.r, video.s, "image-text"));
    expect(rulesOf(asImage)).toEqual(["segment.task"]);
    expect(asImage.errors[0]).toMatchObject({ shard: expect.stringMatching(/^task-\d+\.arrow$/), row: video.r, token: null });
    expect(asImage.errors[0]!.message).toBe(
      `segment ${video.s} is recorded as image-text, but its vision block has ${framesOf(rows[video.r]!, video.s)} frames, an image has 1`,
    );

    const asGeneration = await validate(await shardWithTask(video.r, video.s, "text-video"));
    expect(asGeneration.errors.map((e) => e.message)).toEqual([
      `segment ${video.s} is recorded as text-video, but its vision block carries no loss (a text→vision task is trained on the vision block)`,
    ]);

    const text = findSegment((row, k) => row.tasks![k] === "text");
    const asVideo = await validate(await shardWithTask(text.r, text.s, "video-text"));
    expect(asVideo.errors.map((e) => [e.rule, e.row, e.message])).toEqual([
      ["segment.task", text.r, `segment ${text.s} is recorded as video-text, but it holds 0 vision blocks, expected exactly 1`],
    ]);

    const vision = findSegment((row, k) => row.tasks![k] !== "text");
    const asText = await validate(await shardWithTask(vision.r, vision.s, "qa-chat"));
    expect(asText.errors[0]!.message).toBe(`segment ${vision.s} is recorded as qa-chat, but it holds 1 vision block (a text task holds no vision tokens)`);
  });

  it("reports a name that is no task (segment.task)", async () => {
    const report = await validate(await shardWithTask(PER_BATCH + 1, 0, "audio-text"));
    expect(rulesOf(report)).toEqual(["segment.task"]);
    expect(report.errors[0]).toMatchObject({ row: PER_BATCH + 1 });
    expect(report.errors[0]!.message).toMatch(/^segment 0: task "audio-text" is not one of text, image-text, /);
  });

  it("accepts a 1-frame video recorded as video-text, and reports task counts that differ from the manifest (manifest.totals)", async () => {
    expect(findSegment((row, k) => row.tasks![k] === "video-text" && framesOf(row, k) === 1)).toBeDefined();
    const d = join(dir, `task-stage-${caseNo++}`);
    const written = await writeTestStage(d, rows, { stage: "test", stageKind: "vision-language", seqLen: SEQ, rowsPerBatch: PER_BATCH });
    if (written.formatVersion !== 3) throw new Error("writeTestStage writes the current format");
    const tasks = rows.flatMap((row) => row.tasks!);
    expect(written.totals.tasks).toEqual(Object.fromEntries(["text", "video-text", "text-video"].map((t) => [t, tasks.filter((x) => x === t).length])));
    expect((await validate(d)).errors).toEqual([]);

    await writeManifest(d, { ...written, totals: { ...written.totals, tasks: { ...written.totals.tasks, "image-text": 1 } } });
    const report = await validate(d);
    expect(rulesOf(report)).toEqual(["manifest.totals"]);
    expect(report.errors[0]!.message).toMatch(/^totals differ from the shard entries: tasks \{.*"image-text":1.*\} \(task column \{.*\}\)$/);
  });
});
