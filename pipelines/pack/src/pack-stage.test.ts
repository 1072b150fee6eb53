import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleIdOf } from "@lwm/core";
import { LLAMA2_LWM_VOCAB, Stage, type ExampleRecord } from "@lwm/schemas";
import { ShardReader, validate } from "@lwm/shards";
import { packStage, type PackStageOptions } from "./pack-stage.js";

const SHA = "0".repeat(64);

function textExample(source: string, index: number, length: number): ExampleRecord {
  const tokens = new Uint16Array(length);
  tokens[0] = 1;
  for (let i = 1; i < length; i++) tokens[i] = 3 + ((index * 7919 + i * 31) % 31000);
  tokens[length - 1] = 2;
  const loss = new Uint8Array(length).fill(1);
  loss[0] = 0;
  return {
    exampleId: exampleIdOf(source, String(index)),
    task: "text",
    tokens,
    vision: new Uint8Array(length),
    loss,
    provenance: { kind: "text-file", file: `${source}.txt`, fileSha256: SHA, bytes: { start: index * 10, end: index * 10 + 10 } },
  };
}

async function* stream(source: string, lengths: number[]): AsyncIterable<ExampleRecord> {
  for (const [i, n] of lengths.entries()) yield textExample(source, i, n);
}

/** packStage options for text-only Llama-2 shards; the test names what it varies. */
function options(o: Pick<PackStageOptions, "stage" | "sources" | "rowsPerBatch" | "rowsPerShard" | "dir">): PackStageOptions {
  return {
    ...o,
    layout: { layout: LLAMA2_LWM_VOCAB, tokenDtype: "uint16" },
    tokenizerSha256: SHA,
    vqganSha256: null,
    lineage: { recipe: { name: "t", sha256: SHA }, steps: [{ name: "pack", version: "test" }], codeVersion: "test" },
  };
}

describe("packStage", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-pack-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const stage = Stage.parse({ name: "s512", seqLen: 512, ropeTheta: 1e6, mixture: { a: 3, b: 1 }, budgetTokens: 40_000 });
  const lengthsA = Array.from({ length: 400 }, (_, i) => 20 + ((i * 37) % 480));
  const lengthsB = Array.from({ length: 400 }, (_, i) => 100 + ((i * 53) % 412));

  it("writes shards that the validator accepts, with the asked mixture and every example once", async () => {
    const manifest = await packStage(
      options({
        stage,
        sources: new Map([
          ["a", stream("a", lengthsA)],
          ["b", stream("b", lengthsB)],
        ]),
        rowsPerBatch: 8,
        rowsPerShard: 30,
        dir: await mkdtemp(join(dir, "mix-")),
      }),
    );
    expect(manifest.shards.length).toBeGreaterThan(1);
    expect(manifest.totals.fill).toBeGreaterThan(0.9);
    const [a, b] = manifest.mixture;
    expect(a!.source).toBe("a");
    expect(Math.abs(a!.achieved - 0.75)).toBeLessThan(0.02);
    expect(Math.abs(b!.achieved - 0.25)).toBeLessThan(0.02);
    expect(manifest.totals.realTokens).toBe(a!.tokens + b!.tokens);
    expect(manifest.totals.realTokens).toBeGreaterThanOrEqual(40_000);
    expect(manifest.totals.segments).toBe(a!.examples + b!.examples);
  });

  it("round-trips: every packed segment is an input example, bit for bit", async () => {
    const shardDir = await mkdtemp(join(dir, "rt-"));
    const lengths = Array.from({ length: 120 }, (_, i) => 5 + ((i * 97) % 500));
    const byId = new Map(lengths.map((n, i) => [textExample("a", i, n).exampleId, textExample("a", i, n)]));
    const manifest = await packStage(
      options({
        stage: Stage.parse({ name: "rt", seqLen: 512, ropeTheta: 1e6, mixture: { a: 1 } }),
        sources: new Map([["a", stream("a", lengths)]]),
        rowsPerBatch: 4,
        rowsPerShard: 1000,
        dir: shardDir,
      }),
    );
    const report = await validate(join(shardDir, "manifest.json"));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.rows).toBe(manifest.totals.rows);

    const seen = new Set<string>();
    const reader = await ShardReader.open(join(shardDir, manifest.shards[0]!.file));
    try {
      for (let r = 0; r < reader.numRows; r++) {
        const row = await reader.row(r);
        for (let s = 0; s < row.exampleIds.length; s++) {
          const id = row.exampleIds[s]!;
          const ex = byId.get(id);
          if (ex === undefined) throw new Error(`row ${r} segment ${s}: example ${id} was never an input`);
          const start = row.cuSeqlens[s]!;
          const end = row.cuSeqlens[s + 1]!;
          expect(Array.from(row.tokens.subarray(start, end))).toEqual(Array.from(ex.tokens));
          expect(Array.from(row.loss.subarray(start, end))).toEqual(Array.from(ex.loss));
          seen.add(id);
        }
      }
    } finally {
      await reader.close();
    }
    expect(seen.size).toBe(lengths.length);
  });

  it("fails on an example longer than seqLen, naming the stage, example and source", async () => {
    const tooLong = textExample("a", 1, 65).exampleId;
    await expect(
      packStage(
        options({
          stage: Stage.parse({ name: "small", seqLen: 64, ropeTheta: 1e6, mixture: { a: 1 } }),
          sources: new Map([["a", stream("a", [10, 65])]]),
          rowsPerBatch: 4,
          rowsPerShard: 10,
          dir: await mkdtemp(join(dir, "bad-")),
        }),
      ),
    ).rejects.toThrow(`stage small: example ${tooLong} of source "a" has 65 tokens, more than seqLen 64`);
  });
});
