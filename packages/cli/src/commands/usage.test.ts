import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lwm, requireBuiltCli } from "../test-helpers/lwm.js";

// Command-line mistakes are answered before any work: exit 2 and a message naming the flag or file.
let dir: string;
beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "lwm-cli-usage-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("lwm", () => {
  it("lists its commands on --help (exit 0) and rejects an unknown one (exit 2)", async () => {
    const help = await lwm(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["run", "validate", "inspect", "train", "eval"]) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    const bare = await lwm([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe("");
    expect(bare.stderr).toMatch(/^usage: lwm <command>/);
    const unknown = await lwm(["fly"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lwm: unknown command "fly"/);
  });
});

describe("lwm train", () => {
  it("prints its usage on -h", async () => {
    const r = await lwm(["train", "-h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: lwm train <recipe\.json>/);
  });

  it("names the recipe file when it is missing or not a recipe", async () => {
    const missing = join(dir, "missing.json");
    const r = await lwm(["train", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`lwm train: ${missing}: no such file\n`);

    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ name: "x", stages: "none" }));
    const invalid = await lwm(["train", bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(bad);
    expect(invalid.stderr).toMatch(/stages/);
  });
});

describe("lwm eval", () => {
  it("prints its usage on -h and rejects an unknown evaluation", async () => {
    expect((await lwm(["eval", "needle", "-h"])).stdout).toMatch(/^usage: lwm eval needle --checkpoint DIR/);
    const unknown = await lwm(["eval", "bleu"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lwm eval: unknown evaluation "bleu" \(available: needle\)/);
  });

  it("names the checkpoint folder it cannot load", async () => {
    const ckpt = join(dir, "no-checkpoint");
    const r = await lwm(["eval", "needle", "--checkpoint", ckpt, "--haystack", "h.txt"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^lwm eval: --checkpoint ${ckpt}: `));
  });
});

describe("bad command lines", () => {
  it.each([
    [["train"], /^lwm train: expected one recipe file, got 0\n/],
    [["train", "r.json", "--workers", "0"], /^lwm train: --workers: must be a positive integer, got "0"/],
    [["train", "r.json", "--workers", "1.5"], /^lwm train: --workers: must be a positive integer, got "1\.5"/],
    [["train", "r.json", "--layout", "striped"], /^lwm train: --layout: must be zigzag, balanced or contiguous, got "striped"/],
    [["train", "r.json", "--backend", "gpu"], /^lwm train: --backend: must be onnx or reference, got "gpu"/],
    [["train", "r.json", "--bogus"], /^lwm train: Unknown option '--bogus'/],
    [["validate", "x.arrow", "--max-errors", ""], /^lwm validate: --max-errors must be a non-negative integer, got $/m],
    [["inspect", "x.arrow", "--row", "1e2"], /^lwm inspect: --row must be a non-negative integer, got 1e2$/m],
    [["eval"], /^lwm eval: name an evaluation\nusage: lwm eval needle/],
    [["eval", "needle", "--haystack", "h.txt"], /^lwm eval: --checkpoint DIR is required/],
    [["eval", "needle", "--checkpoint", "c"], /^lwm eval: --haystack FILE is required/],
    [
      ["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--depths", "0,1.5"],
      /^lwm eval: --depths: expected a comma-separated list of fractions in \[0, 1\], got "0,1\.5"/,
    ],
    [["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--trials", "0"], /^lwm eval: --trials: expected a positive integer, got "0"/],
    [
      ["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--trials", "3,4"],
      /^lwm eval: --trials: expected N, LEN:N items, or both with one N at most, got "3,4"/,
    ],
    [
      ["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--trials", "20,4096:0"],
      /^lwm eval: --trials: expected LEN:N with a positive count, got "0"/,
    ],
    [
      ["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--needles", "2:x"],
      /^lwm eval: --needles: expected COUNT:LEN with a positive length, got "x"/,
    ],
    [["eval", "needle", "--checkpoint", "c", "--haystack", "h.txt", "--seed", "1.5"], /^lwm eval: --seed: expected an integer, got "1\.5"/],
    [["eval", "needle", "stray"], /^lwm eval: expected no positional arguments, got 1\n/],
    [["eval", "needle", "--bogus"], /^lwm eval: Unknown option '--bogus'/],
  ])("exit 2 before any work: lwm %j", async (args, message) => {
    const r = await lwm(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
