/**
 * Shards as other Arrow implementations see them: polars (Rust arrow, through nodejs-polars) reads a
 * shard as an IPC stream with identical values for every element of every column, and
 * apache-arrow's RecordBatchStreamReader reads it as a stream. polars does not expose schema custom
 * metadata, so the `lwm` metadata is read by parsing the Schema message's flatbuffer here by hand,
 * independently of apache-arrow and of @lwm/shards. With LWM_PYTHON (pyarrow, datasets), pyarrow and
 * Hugging Face datasets read the per-segment task column as lists of task names.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RecordBatchReader, type Vector } from "apache-arrow";
import { LLAMA2_LWM_VOCAB, type ExampleRecord } from "@lwm/schemas";
import { assembleRow, shardMetadata, ShardWriter, type PackedRow } from "@lwm/shards";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const POLARS_DIR = join(here, "interop/node_modules/nodejs-polars");
const hasPolars = existsSync(POLARS_DIR);
if (!hasPolars) console.warn(`skipped: ${POLARS_DIR} not found (npm ci --prefix tests/interop installs it)`);
const PYTHON = process.env.LWM_PYTHON;
if (!PYTHON) console.warn("skipped: the pyarrow / datasets reading of the task column (LWM_PYTHON is not set)");

/** The slice of nodejs-polars' API this test uses. */
interface PlSeries {
  toArray(): unknown[];
  toTypedArray(): ArrayLike<number>;
  dtype: { toString(): string };
}
interface PlFrame {
  height: number;
  schema: Record<string, { toString(): string }>;
  select(...exprs: unknown[]): PlFrame;
  getColumn(name: string): PlSeries;
}
interface PlExpr {
  explode(): PlExpr;
  lst: { lengths(): PlExpr };
}
interface Polars {
  readIPCStream(body: Buffer): PlFrame;
  col(name: string): PlExpr;
}

const SEQ = 512;
const PER_BATCH = 4;
const ROWS = 13; // three full batches and a last one of one row
const V = LLAMA2_LWM_VOCAB;
const META = shardMetadata({
  stage: "interop",
  stageKind: "vision-language",
  seqLen: SEQ,
  vocab: V,
  tokenizerSha256: "1".repeat(64),
  vqganSha256: "2".repeat(64),
  rowsPerBatch: PER_BATCH,
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A text or video-caption example (1 or 2 frames) of LWM layout, with random ids. */
function example(r: () => number, i: number, room: number): ExampleRecord {
  const frames = 1 + Math.floor(r() * 2);
  const visionLen = frames * (V.tokensPerFrame + 1);
  const withVision = r() < 0.4 && visionLen + 4 <= room;
  const textLen = Math.max(2, Math.min(room - (withVision ? visionLen + 2 : 0), 2 + Math.floor(r() * 120)));
  const n = textLen + (withVision ? visionLen : 0);
  const tokens = new Uint16Array(n);
  const vision = new Uint8Array(n);
  const loss = new Uint8Array(n);
  let k = 0;
  tokens[k++] = V.bosId;
  if (withVision) {
    for (let f = 0; f < frames; f++) {
      for (let c = 0; c < V.tokensPerFrame; c++) tokens[k + c] = Math.floor(r() * V.visionCodes);
      tokens[k + V.tokensPerFrame] = f === frames - 1 ? V.eovId : V.eofId;
      vision.fill(1, k, k + V.tokensPerFrame + 1);
      if (i % 2 === 0) loss.fill(1, k, k + V.tokensPerFrame + 1);
      k += V.tokensPerFrame + 1;
    }
  }
  while (k < n - 1) {
    loss[k] = 1;
    tokens[k++] = 3 + Math.floor(r() * (V.textVocabSize - 3));
  }
  loss[k] = 1;
  tokens[k] = V.eosId;
  return {
    exampleId: ((i * 2654435761) >>> 0).toString(16).padStart(32, "0"),
    // Clips of 1 or 2 frames: a 1-frame clip is still a video task, which its layout alone would call an image.
    task: withVision ? (i % 2 === 0 ? "text-video" : "video-text") : "text",
    tokens,
    vision,
    loss,
    provenance: withVision
      ? { kind: "media", file: `images/${i}.jpg`, fileSha256: "3".repeat(64), frameTimestamps: Array.from({ length: frames }, (_, f) => f / 2) }
      : { kind: "jsonl", file: "docs.jsonl", fileSha256: "4".repeat(64), line: i, bytes: { start: i * 100, end: i * 100 + 99 } },
  };
}

function randomRows(seed: number): PackedRow[] {
  const r = lcg(seed);
  let id = 0;
  return Array.from({ length: ROWS }, (_, row) => {
    const examples: ExampleRecord[] = [];
    let used = 0;
    const target = row % 3 === 0 ? SEQ : SEQ - 1 - Math.floor(r() * 60); // some rows exactly full
    while (target - used >= 2) {
      const e = example(r, id++, target - used);
      examples.push(e);
      used += e.tokens.length;
    }
    return assembleRow(SEQ, V, examples);
  });
}

/** Custom metadata of the stream's first (Schema) message, read straight from the flatbuffer (Message.fbs / Schema.fbs). */
function schemaCustomMetadata(file: Uint8Array): Map<string, string> {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect(dv.getUint32(0, true)).toBe(0xffffffff);
  const u32 = (p: number) => dv.getUint32(p, true);
  const deref = (p: number) => p + u32(p);
  /** Absolute position of field `id` of the table at `t`, or 0 when absent. */
  const field = (t: number, id: number): number => {
    const vtable = t - dv.getInt32(t, true);
    const at = 4 + 2 * id;
    if (at >= dv.getUint16(vtable, true)) return 0;
    const off = dv.getUint16(vtable + at, true);
    return off === 0 ? 0 : t + off;
  };
  const str = (p: number) => {
    const s = deref(p);
    return new TextDecoder().decode(file.subarray(s + 4, s + 4 + u32(s)));
  };
  const message = deref(8);
  expect(file[field(message, 1)]).toBe(1); // header_type = Schema
  const schema = deref(field(message, 2));
  const list = deref(field(schema, 2)); // Schema.custom_metadata
  const out = new Map<string, string>();
  for (let k = 0; k < u32(list); k++) {
    const kv = deref(list + 4 + 4 * k);
    out.set(str(field(kv, 0)), str(field(kv, 1)));
  }
  return out;
}

function flat<T>(rows: PackedRow[], pick: (r: PackedRow) => ArrayLike<T>): T[] {
  return rows.flatMap((r) => Array.from(pick(r)));
}

let dir: string;
let file: Buffer;
let rows: PackedRow[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lwm-interop-"));
  rows = randomRows(20240501);
  const path = join(dir, "shard-00000.arrow");
  const writer = await ShardWriter.create(path, META);
  for (const row of rows) await writer.append(row);
  await writer.close();
  file = await readFile(path);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("a shard as other Arrow readers see it", () => {
  it("has text and vision segments, padding, full rows and a partial last batch", () => {
    expect(rows.some((r) => r.vision.includes(1))).toBe(true);
    expect(rows.some((r) => r.cuSeqlens.at(-1)! < SEQ)).toBe(true);
    expect(rows.some((r) => r.cuSeqlens.at(-1) === SEQ)).toBe(true);
    expect(ROWS % PER_BATCH).not.toBe(0);
  });

  it.skipIf(!hasPolars)("polars reads every element of every column identically, as a stream", () => {
    const pl = createRequire(import.meta.url)(POLARS_DIR) as Polars;
    const df = pl.readIPCStream(file);
    expect(df.height).toBe(ROWS);
    expect(Object.fromEntries(Object.entries(df.schema).map(([k, t]) => [k, t.toString()]))).toEqual({
      tokens: `DataType(FixedSizeList(DataType(UInt16),${SEQ}))`,
      vision: `DataType(FixedSizeList(DataType(Bool),${SEQ}))`,
      loss: `DataType(FixedSizeList(DataType(Bool),${SEQ}))`,
      cu_seqlens: "DataType(List(DataType(Int32)))",
      weight_text: "DataType(List(DataType(Float32)))",
      weight_vision: "DataType(List(DataType(Float32)))",
      example_id: "DataType(List(DataType(String)))",
      provenance: "DataType(List(DataType(String)))",
      task: "DataType(List(DataType(String)))",
    });
    const column = (name: string) => df.select(pl.col(name).explode()).getColumn(name);
    const lengths = (name: string) => Array.from(df.select(pl.col(name).lst.lengths()).getColumn(name).toArray());

    const tokens = column("tokens").toTypedArray();
    expect(tokens).toBeInstanceOf(Uint16Array);
    expect(Array.from(tokens)).toEqual(flat(rows, (r) => r.tokens));
    expect(column("vision").toArray()).toEqual(flat(rows, (r) => r.vision).map((b) => b === 1));
    expect(column("loss").toArray()).toEqual(flat(rows, (r) => r.loss).map((b) => b === 1));

    expect(lengths("cu_seqlens")).toEqual(rows.map((r) => r.cuSeqlens.length));
    expect(Array.from(column("cu_seqlens").toTypedArray())).toEqual(flat(rows, (r) => r.cuSeqlens));
    for (const [name, pick] of [
      ["weight_text", (r: PackedRow) => r.weightText],
      ["weight_vision", (r: PackedRow) => r.weightVision],
    ] as const) {
      expect(lengths(name)).toEqual(rows.map((r) => r.cuSeqlens.length - 1));
      // Bit-exact: compare the float32 bytes.
      const got = Float32Array.from(column(name).toTypedArray());
      expect(Buffer.from(got.buffer).equals(Buffer.from(Float32Array.from(flat(rows, pick)).buffer))).toBe(true);
    }
    expect(lengths("example_id")).toEqual(rows.map((r) => r.exampleIds.length));
    expect(column("example_id").toArray()).toEqual(rows.flatMap((r) => r.exampleIds));
    expect(lengths("provenance")).toEqual(rows.map((r) => r.provenance.length));
    expect(
      column("provenance")
        .toArray()
        .map((s) => JSON.parse(s as string) as unknown),
    ).toEqual(rows.flatMap((r) => r.provenance));
    expect(lengths("task")).toEqual(rows.map((r) => r.cuSeqlens.length - 1));
    expect(column("task").toArray()).toEqual(rows.flatMap((r) => r.tasks));
  });

  it.skipIf(!PYTHON)(
    "pyarrow and Hugging Face datasets read the task column as lists of task names",
    async () => {
      const script = join(here, "python/shard_tasks.py");
      const stdout = await new Promise<string>((done, fail) =>
        execFile(PYTHON!, [script, join(dir, "shard-00000.arrow")], { encoding: "utf8" }, (err, out, stderr) => (err ? fail(new Error(stderr)) : done(out))),
      );
      const got = JSON.parse(stdout) as { pyarrow: { type: string; tasks: string[][] }; datasets: { feature: string; tasks: string[][] } };
      const tasks = rows.map((r) => r.tasks);
      expect(got.pyarrow).toEqual({ type: "list<item: string not null>", tasks });
      expect(got.datasets.feature).toMatch(/^(Sequence\(feature=Value\((dtype=)?'string'.*\)|List\(Value\('string'\)\))/);
      expect(got.datasets.tasks).toEqual(tasks);
      expect(new Set(tasks.flat())).toEqual(new Set(["text", "video-text", "text-video"]));
    },
    300_000,
  );

  it("carries its metadata in the Schema message, readable without apache-arrow", () => {
    const meta = schemaCustomMetadata(file);
    expect([...meta.keys()]).toEqual(["lwm"]);
    expect(JSON.parse(meta.get("lwm")!)).toEqual(META);
  });

  it("reads with apache-arrow's RecordBatchStreamReader, batch by batch", () => {
    const reader = RecordBatchReader.from(file);
    expect(reader.isStream()).toBe(true);
    reader.open();
    expect(JSON.parse(reader.schema.metadata.get("lwm")!)).toEqual(META);
    const batches = [...reader];
    expect(batches.map((b) => b.numRows)).toEqual([4, 4, 4, 1]);
    const tokens: number[] = [];
    const cu: number[] = [];
    for (const b of batches) {
      for (let r = 0; r < b.numRows; r++) {
        tokens.push(...Array.from((b.getChild("tokens")!.get(r) as Vector).toArray() as Uint16Array));
        cu.push(...Array.from((b.getChild("cu_seqlens")!.get(r) as Vector).toArray() as Int32Array));
      }
    }
    expect(tokens).toEqual(flat(rows, (r) => r.tokens));
    expect(cu).toEqual(flat(rows, (r) => r.cuSeqlens));
  });
});
