import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLAMA2_LWM_VOCAB, type ExampleRecord } from "@lwm/schemas";
import { assembleRow, BUFFER_INDEX, ShardReader } from "@lwm/shards";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lwm, requireBuiltCli } from "../test-helpers/lwm.js";
import { writeTestStage } from "../test-helpers/stage.js";

const SEQ = 64;

function textExample(i: number, n: number): ExampleRecord {
  const tokens = Uint16Array.from({ length: n }, (_, k) => (k === 0 ? 1 : k === n - 1 ? 2 : 100 + ((i * 31 + k) % 30000)));
  const loss = Uint8Array.from({ length: n }, (_, k) => (k === 0 ? 0 : 1));
  return {
    exampleId: i.toString(16).padStart(32, "0"),
    task: "text",
    tokens,
    vision: new Uint8Array(n),
    loss,
    provenance: { kind: "synthetic", generator: "cli-validate-test", seed: 0, index: i },
  };
}

let dir: string;
let shard: string;

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "lwm-cli-validate-"));
  shard = join(dir, "shard-00000.arrow");
  const rows = Array.from({ length: 5 }, (_, r) => assembleRow(SEQ, LLAMA2_LWM_VOCAB, [textExample(2 * r, 20), textExample(2 * r + 1, 30 + r)]));
  const fields = {
    stage: "s",
    stageKind: "text",
    seqLen: SEQ,
    vocab: LLAMA2_LWM_VOCAB,
    tokenizerSha256: "0".repeat(64),
    vqganSha256: null,
    rowsPerBatch: 2,
  } as const;
  await writeTestStage(dir, fields, rows);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("lwm validate", () => {
  it("exits 0 on a valid shard, folder and manifest", async () => {
    for (const target of [shard, dir, join(dir, "manifest.json")]) {
      const { code, stdout } = await lwm(["validate", target]);
      expect(code, stdout).toBe(0);
      expect(stdout).toMatch(/^valid: 1 shard, 5 rows, 320 tokens$/m);
    }
  });

  it("exits 1 with one line per error, and prints the --json report capped at --max-errors", async () => {
    const bad = join(dir, "bad");
    await mkdir(bad);
    const file = join(bad, "shard-00000.arrow");
    // Set loss on tokens 56..63 of every row: rows are 64 tokens (8 bitmap bytes) and every row's
    // segments end before token 56, so the last bitmap byte of each row covers padding only.
    const patchedBytes = Buffer.from(await readFile(shard));
    const reader = await ShardReader.open(shard);
    for (let b = 0; b < reader.numBatches; b++) {
      const block = reader.batchLayout(b);
      const loss = block.buffers[BUFFER_INDEX.loss]!;
      for (let r = 0; r < block.rows; r++) patchedBytes[block.bodyOffset + loss.offset + r * 8 + 7] = 0xff;
    }
    await reader.close();
    await writeFile(file, patchedBytes);

    const human = await lwm(["validate", file]);
    expect(human.code).toBe(1);
    const lines = human.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^shard-00000\.arrow row 0 token 56: \[loss\.padding\] /);
    expect(lines.at(-1)).toMatch(/^INVALID: 40 errors in 1 shard, 5 rows, 320 tokens \(loss\.padding: 40\)$/);

    const json = await lwm(["validate", file, "--json", "--max-errors", "3"]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(["errorCounts", "errors", "ok", "rows", "shards", "tokens", "truncated"]);
    expect(report).toMatchObject({ ok: false, shards: 1, rows: 5, tokens: 320, truncated: true, errorCounts: { "loss.padding": 40 } });
    expect(report.errors).toEqual([
      { shard: "shard-00000.arrow", row: 0, token: 56, rule: "loss.padding", message: "padding token carries loss" },
      { shard: "shard-00000.arrow", row: 0, token: 57, rule: "loss.padding", message: "padding token carries loss" },
      { shard: "shard-00000.arrow", row: 0, token: 58, rule: "loss.padding", message: "padding token carries loss" },
    ]);
  });

  it("exits 0 with a --json report on a valid shard", async () => {
    const { code, stdout } = await lwm(["validate", "--json", dir]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ ok: true, shards: 1, rows: 5, tokens: 320, errors: [], errorCounts: {}, truncated: false });
  });

  it("exits 2 on a missing path and on bad usage", async () => {
    const missing = await lwm(["validate", join(dir, "nope.arrow")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.arrow/);
    expect((await lwm(["validate"])).code).toBe(2);
    expect((await lwm(["validate", shard, "--max-errors", "x"])).code).toBe(2);
    expect((await lwm(["validate", shard, "--bogus"])).code).toBe(2);
  });
});
