import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticStage } from "./synthetic.js";
import { segmentsOf, StageDataset } from "./dataset.js";
import { DataLoader } from "./loader.js";
import { isHeldOut, shuffled } from "./split.js";

let root: string;
let ds: StageDataset;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "loader-"));
  await writeSyntheticStage(root, { stage: "s32", seqLen: 32, rows: 120, shards: 3, rowsPerBatch: 7, seed: 5, kind: "text" });
  ds = await StageDataset.open(join(root, "s32"), { stage: "s32", seqLen: 32, kind: "text" });
});
afterAll(async () => {
  await ds.close();
});

const opts = { seed: 11, evalFraction: 0.25, batchRows: 8 };

async function take(loader: DataLoader, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await loader.next());
  return out;
}

describe("StageDataset", () => {
  it("addresses rows across shards in manifest order and refuses a stage mismatch", async () => {
    expect(ds.numRows).toBe(120);
    expect(ds.locate(0)).toMatchObject({ shard: 0, row: 0 });
    expect(ds.locate(40)).toMatchObject({ shard: 1, row: 0 });
    expect(ds.locate(119)).toMatchObject({ shard: 2, row: 39 });
    expect(() => ds.locate(120)).toThrow(RangeError);
    const row = await ds.row(41);
    expect(row.tokens.length).toBe(32);
    await expect(StageDataset.open(join(root, "s32"), { stage: "s64", seqLen: 32, kind: "text" })).rejects.toThrow(
      /stage is "s32", the recipe's stage is "s64"/,
    );
    await expect(StageDataset.open(join(root, "s32"), { stage: "s32", seqLen: 64, kind: "text" })).rejects.toThrow(
      /seqLen 32, the recipe's stage "s32" has seqLen 64/,
    );
    // The shards say which loss rule they were packed for; a recipe that says otherwise is refused.
    await expect(StageDataset.open(join(root, "s32"), { stage: "s32", seqLen: 32, kind: "vision-language" })).rejects.toThrow(
      /the shards are a "text" stage, the recipe's stage "s32" is "vision-language"/,
    );
  });
});

describe("held-out split", () => {
  it("is a pure function of (shard content hash, row), disjoint and about evalFraction", () => {
    const loader = new DataLoader(ds, opts);
    const all = [...loader.trainRows, ...loader.evalRows].sort((a, b) => a - b);
    expect(all).toEqual([...Array(120).keys()]);
    expect(loader.evalRows.length).toBeGreaterThan(15);
    expect(loader.evalRows.length).toBeLessThan(45);
    // Same split whatever the shuffle seed or batch size.
    const other = new DataLoader(ds, { seed: 99, evalFraction: 0.25, batchRows: 4 });
    expect([...other.evalRows]).toEqual([...loader.evalRows]);
    for (const r of loader.evalRows) {
      const { row, sha256 } = ds.locate(r);
      expect(isHeldOut(sha256, row, 0.25)).toBe(true);
    }
    expect(new DataLoader(ds, { ...opts, evalFraction: 0 }).evalRows.length).toBe(0);
  });
});

describe("DataLoader", () => {
  it("is deterministic for a seed, visits every training row once per epoch, and reshuffles per epoch", async () => {
    const a = new DataLoader(ds, opts);
    const b = new DataLoader(ds, opts);
    const n = a.trainRows.length;
    const batches = Math.ceil((2 * n) / 8) + 1;
    const ra = (await take(a, batches)).flatMap((x) => x.rowIndices);
    const rb = (await take(b, batches)).flatMap((x) => x.rowIndices);
    expect(ra).toEqual(rb);
    const epoch0 = ra.slice(0, n);
    const epoch1 = ra.slice(n, 2 * n);
    expect([...epoch0].sort((x, y) => x - y)).toEqual([...a.trainRows]);
    expect([...epoch1].sort((x, y) => x - y)).toEqual([...a.trainRows]);
    expect(epoch1).not.toEqual(epoch0);
    expect(a.state().epoch).toBe(2);
    const c = new DataLoader(ds, { ...opts, seed: 12 });
    expect((await take(c, 3)).flatMap((x) => x.rowIndices)).not.toEqual(ra.slice(0, 24));
  });

  it("counts E over the global batch and splits the rows over ranks without overlap", async () => {
    const whole = await take(new DataLoader(ds, opts), 5);
    const r0 = await take(new DataLoader(ds, { ...opts, rank: 0, worldSize: 2 }), 5);
    const r1 = await take(new DataLoader(ds, { ...opts, rank: 1, worldSize: 2 }), 5);
    for (let i = 0; i < 5; i++) {
      const w = whole[i]!;
      expect(w.examples).toBe(w.rows.reduce((s, r) => s + segmentsOf(r), 0));
      expect(r0[i]!.examples).toBe(w.examples);
      expect(r1[i]!.examples).toBe(w.examples);
      expect(r0[i]!.rows.length).toBe(4);
      const union = [...r0[i]!.rowIndices, ...r1[i]!.rowIndices].sort((a, b) => a - b);
      expect(union).toEqual([...w.rowIndices].sort((a, b) => a - b));
    }
    expect(() => new DataLoader(ds, { ...opts, worldSize: 3 })).toThrow(/8 rows per batch do not split evenly over 3 ranks/);
    expect(() => new DataLoader(ds, { ...opts, rank: 2, worldSize: 2 })).toThrow(/rank 2 is not in 0..1/);
  });

  it("resumes exactly from its serialised state, with consumed-token accounting", async () => {
    const straight = new DataLoader(ds, opts);
    const all = await take(straight, 30);
    const first = new DataLoader(ds, opts);
    await take(first, 17);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = new DataLoader(ds, opts, saved);
    const rest = await take(resumed, 13);
    expect(rest.map((b) => b.rowIndices)).toEqual(all.slice(17).map((b) => b.rowIndices));
    const st = resumed.state();
    expect(st.batches).toBe(30);
    expect(st.consumed.rows).toBe(240);
    expect(st.consumed.tokens).toBe(240 * 32);
    expect(st.consumed.examples).toBe(all.reduce((s, b) => s + b.examples, 0));
    expect(st).toEqual(straight.state());
  });
});

describe("shuffled", () => {
  it("is a permutation, fixed by (seed, epoch)", () => {
    const items = Int32Array.from({ length: 50 }, (_, i) => i * 3);
    const p = shuffled(items, 1, 0);
    expect([...p].sort((a, b) => a - b)).toEqual([...items]);
    expect([...shuffled(items, 1, 0)]).toEqual([...p]);
    expect([...shuffled(items, 1, 1)]).not.toEqual([...p]);
  });
});
