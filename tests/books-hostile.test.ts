/**
 * Hostile inputs (issue #16): one bad record or file never costs the run, the memory or a good
 * document. Every input here is made by the test. Permission cases run the CLI as `nobody` (root
 * reads everything), and say so when they cannot.
 */
import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadTokenizer } from "@lwm/tokenizer";
import { describe, expect, it } from "vitest";
import { zstdBomb } from "../pipelines/books/src/test-helpers/bombs.js";
import { CLI, gutenbergFile, prose, readDocuments, readRejects, recipeOf, repoRoot, verifyDocumentTokens, writeRecipe } from "./books-helpers.js";
import { lwm, type CliResult } from "./cli.js";

const isRoot = process.getuid?.() === 0;
const hasRunuser = spawnSync("runuser", ["--help"]).status === 0;
const asNobody = isRoot && hasRunuser;
if (!asNobody) console.warn(`skipped: the permission cases need root and runuser to run the CLI as nobody (root: ${isRoot}, runuser: ${hasRunuser})`);
const hasMkfifo = spawnSync("mkfifo", ["--help"]).status === 0;
if (!hasMkfifo) console.warn("skipped: mkfifo not found; the FIFO cases need it");

/** `lwm <args>` as the user nobody, with a deadline (a hang is a failure, not a stuck test). */
function lwmAsNobody(args: string[]): CliResult {
  const r = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, CLI, ...args], { encoding: "utf8", cwd: repoRoot, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const MiB = 1024 * 1024;

/** A world-readable scratch folder (mkdtemp makes 0700 folders nobody cannot enter). */
async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

describe("books step: hostile inputs", () => {
  it.skipIf(!asNobody || !hasMkfifo)(
    "every kind of bad input in one folder beside good books: one reject each, the good books complete",
    async () => {
      const dir = await scratch("books-hostile-");
      const data = join(dir, "data");
      const elsewhere = join(dir, "elsewhere");
      await mkdir(join(elsewhere, "linked-folder"), { recursive: true });
      await mkdir(data);
      const book1 = gutenbergFile("First Good Book", "English", prose(31, 3000));
      const book2 = gutenbergFile("Second Good Book", "French", prose(32, 3000));
      await writeFile(join(data, "a-good.txt"), book1);
      await writeFile(join(data, "b-good.jsonl"), `${JSON.stringify({ text: book2 })}\n`);
      // 1: a record the tokenizer refuses (lone surrogate), between good records.
      await writeFile(
        join(data, "c-surrogate.jsonl"),
        [JSON.stringify({ text: prose(33, 300) }), '{"text": "bad \\ud800 here"}', JSON.stringify({ text: prose(34, 300) })].join("\n") + "\n",
      );
      // 2: links: to a file elsewhere (followed), to a folder elsewhere (followed), broken, and a loop.
      await writeFile(join(elsewhere, "linked.txt"), prose(35, 500));
      await writeFile(join(elsewhere, "linked-folder", "inside.txt"), prose(36, 500));
      await symlink(join(elsewhere, "linked.txt"), join(data, "d-link.txt"));
      await symlink(join(elsewhere, "linked-folder"), join(data, "e-linked-folder"));
      await symlink(join(dir, "nowhere.txt"), join(data, "f-broken.txt"));
      await symlink(data, join(data, "g-loop"));
      // 3: unreadable file and folder.
      await writeFile(join(data, "h-unreadable.txt"), prose(37, 100));
      await chmod(join(data, "h-unreadable.txt"), 0o000);
      await mkdir(join(data, "i-locked"));
      await writeFile(join(data, "i-locked", "secret.txt"), prose(38, 100));
      await chmod(join(data, "i-locked"), 0o000);
      // 4: a FIFO with a books extension.
      expect(spawnSync("mkfifo", [join(data, "j-fifo.jsonl")]).status).toBe(0);
      // 5: decompression bombs, gzip and zstd, with no newline.
      const block = Buffer.alloc(64 * MiB, "x");
      await writeFile(join(data, "k-bomb.jsonl.gz"), gzipSync(block, { level: 9 }));
      await writeFile(join(data, "l-bomb.jsonl.zst"), zstdBomb(256 * MiB));
      // 6: one long line with no newline (tokenized in pieces, ids checked against one call below).
      await writeFile(join(data, "m-one-line.txt"), prose(39, 200_000).replace(/\n/g, " "));
      // 10: a BOM before the first JSONL record.
      await writeFile(join(data, "n-bom.jsonl"), `\uFEFF${JSON.stringify({ text: prose(40, 300) })}\n`);
      // 11: Gutenberg markers with no body between them.
      await writeFile(join(data, "o-no-body.txt"), gutenbergFile("Empty", "English", ""));
      // 13: UTF-16 text and a 0-byte Parquet file.
      await writeFile(join(data, "p-utf16.txt"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(prose(41, 100), "utf16le")]));
      await writeFile(join(data, "q-empty.parquet"), "");
      await writeFile(join(data, "r-numeric.jsonl"), `${JSON.stringify({ text: 42 })}\n`);

      const recipe = recipeOf({ sources: [{ kind: "books", name: "hostile", paths: ["data"] }], steps: { books: { maxDocumentBytes: 16 * MiB } } });
      recipe.stages = recipe.stages.map((s) => ({ ...s, allowEmpty: true }));
      const recipePath = await writeRecipe(dir, recipe);
      await chmod(dir, 0o777);
      const out = join(dir, "out");
      const r = lwmAsNobody(["run", "--steps", "books", recipePath, "--out", out, "--json"]);
      expect(r.code, r.stderr).toBe(0);

      const rejects = await readRejects(out);
      const expected: [string, RegExp][] = [
        ["data/f-broken.txt", /^broken symbolic link \(to .*nowhere\.txt\)$/],
        ["data/g-loop", /^symbolic link loop: it leads back to .*data, a folder being walked$/],
        ["data/h-unreadable.txt", /^unreadable file: EACCES: permission denied/],
        ["data/i-locked", /^unreadable folder: EACCES: permission denied/],
        ["data/j-fifo.jsonl", /^not a regular file: a FIFO \(named pipe\)$/],
        ["data/c-surrogate.jsonl", /^lone UTF-16 surrogate at index 4; the text is not valid Unicode$/],
        ["data/k-bomb.jsonl.gz", new RegExp(`^record too large: ${64 * MiB} bytes > maxDocumentBytes ${16 * MiB}$`)],
        ["data/l-bomb.jsonl.zst", new RegExp(`^record too large: ${256 * MiB} bytes > maxDocumentBytes ${16 * MiB}$`)],
        ["data/o-no-body.txt", /^no body between the Gutenberg markers$/],
        ["data/p-utf16.txt", /^UTF-16 text \(little-endian byte-order mark\), not UTF-8/],
        ["data/q-empty.parquet", /^empty file$/],
        ["data/r-numeric.jsonl", /^text field "text" is not a string$/],
      ];
      expect(rejects.map((x) => [x.source, x.reason])).toEqual(expected.map(([source, reason]) => [source, expect.stringMatching(reason)]));
      expect(rejects.find((x) => x.source === "data/c-surrogate.jsonl")?.position).toMatchObject({ line: 1 });

      const kept = (await readDocuments(out)).map(
        (d) => ("file" in d.provenance ? d.provenance.file : "") + (d.provenance.kind === "jsonl" ? `:${d.provenance.line}` : ""),
      );
      expect(kept).toEqual([
        "data/a-good.txt",
        "data/b-good.jsonl:0",
        "data/c-surrogate.jsonl:0",
        "data/c-surrogate.jsonl:2",
        "data/d-link.txt",
        "data/e-linked-folder/inside.txt",
        "data/m-one-line.txt",
        "data/n-bom.jsonl:0",
      ]);
      // Every kept document, the long line included, has the ids of one-call tokenization.
      await verifyDocumentTokens(out, dir, { text: "text" }, await loadTokenizer());
      const [report] = JSON.parse(r.stdout) as { rejects: { total: number } }[];
      expect(report?.rejects.total).toBe(expected.length);
    },
    300_000,
  );

  it("a source of which nothing is accepted fails the step naming it, unless allowEmpty", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-empty-"));
    await writeFile(join(dir, "a.jsonl"), [1, 2, 3].map((i) => JSON.stringify({ body: prose(i, 50) })).join("\n"));
    const recipe = recipeOf({ sources: [{ kind: "books", name: "misnamed", paths: ["a.jsonl"], textField: "text" }] });
    const r = await lwm(["run", "--steps", "books", await writeRecipe(dir, recipe), "--out", join(dir, "out")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'sources[0] "misnamed": nothing accepted: 0 documents accepted, 3 records rejected (see rejects.jsonl); set sources[0].allowEmpty to true',
    );
    expect(r.stdout).toMatch(/books: FAILED.*not finalized \(failed\)/);
    expect((await readRejects(join(dir, "out"))).map((x) => x.reason)).toEqual(Array(3).fill('missing text field "text"'));

    const allowed = recipeOf({ sources: [{ kind: "books", name: "misnamed", paths: [join(dir, "a.jsonl")], allowEmpty: true }] });
    allowed.stages = allowed.stages.map((s) => ({ ...s, allowEmpty: true }));
    const ok = await lwm(["run", "--steps", "books", await writeRecipe(join(dir, "allowed"), allowed), "--out", join(dir, "out2")]);
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  it("a stage no document reaches fails the step naming the stage and its band", async () => {
    const dir = await mkdtemp(join(tmpdir(), "books-empty-stage-"));
    await writeFile(join(dir, "a.txt"), prose(5, 300));
    const recipe = recipeOf({ sources: [{ kind: "books", name: "b", paths: ["a.txt"] }] });
    recipe.stages = recipe.stages.map((s) => ({ ...s, allowEmpty: false }));
    const r = await lwm(["run", "--steps", "books", await writeRecipe(dir, recipe), "--out", join(dir, "out")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'stages[1] "band": empty: no document of its sources (b) is within minTokens 9000, maxTokens 300000; set stages[1].allowEmpty to true',
    );
  }, 120_000);

  it("a FIFO named in paths is a reject at once; validate refuses a FIFO at once", async () => {
    if (!hasMkfifo) return;
    const dir = await mkdtemp(join(tmpdir(), "books-fifo-"));
    await writeFile(join(dir, "good.txt"), prose(6, 400));
    expect(spawnSync("mkfifo", [join(dir, "pipe.txt")]).status).toBe(0);
    const recipe = recipeOf({ sources: [{ kind: "books", name: "b", paths: ["good.txt", "pipe.txt"] }] });
    recipe.stages = recipe.stages.map((s) => ({ ...s, allowEmpty: true }));
    const r = spawnSync(process.execPath, [CLI, "run", "--steps", "books", await writeRecipe(dir, recipe), "--out", join(dir, "out")], {
      encoding: "utf8",
      cwd: repoRoot,
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(await readRejects(join(dir, "out"))).toEqual([{ source: "pipe.txt", position: {}, reason: "not a regular file: a FIFO (named pipe)" }]);
    const v = spawnSync(process.execPath, [CLI, "validate", join(dir, "pipe.txt")], { encoding: "utf8", cwd: repoRoot, timeout: 30_000 });
    expect(v.status).toBe(2);
    expect(v.stderr).toContain("not a regular file or folder: it is a FIFO (named pipe)");
  }, 120_000);
});

/** A python with pyarrow, named by LWM_PYTHON (tests that write Parquet with pyarrow skip without it). */
const PYTHON = process.env.LWM_PYTHON;
const hasPyarrow = PYTHON !== undefined && spawnSync(PYTHON, ["-c", "import pyarrow"]).status === 0;
if (!hasPyarrow) console.warn("skipped: set LWM_PYTHON to a python with pyarrow for the Parquet consistency case");

describe("books step: Parquet agrees with JSONL", () => {
  it.skipIf(!hasPyarrow)(
    "numeric text is rejected and a zero-row file leaves a reject, as in JSONL",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "books-parquet-"));
      const script = [
        "import sys, pyarrow as pa, pyarrow.parquet as pq",
        "d = sys.argv[1]",
        "pq.write_table(pa.table({'text': pa.array([42, 7], pa.int64())}), d + '/numeric.parquet')",
        "pq.write_table(pa.table({'text': pa.array([], pa.string())}), d + '/zero.parquet')",
        `pq.write_table(pa.table({'text': [${JSON.stringify(prose(51, 300))}]}), d + '/good.parquet')`,
      ].join("\n");
      const py = spawnSync(PYTHON as string, ["-c", script, dir], { encoding: "utf8" });
      expect(py.status, py.stderr).toBe(0);
      const recipe = recipeOf({ sources: [{ kind: "books", name: "p", paths: ["numeric.parquet", "zero.parquet", "good.parquet"] }] });
      const r = await lwm(["run", "--steps", "books", await writeRecipe(dir, recipe), "--out", join(dir, "out")]);
      expect(r.code, r.stderr).toBe(0);
      expect((await readRejects(join(dir, "out"))).map((x) => [x.source, x.position, x.reason])).toEqual([
        ["numeric.parquet", { rowGroup: 0, row: 0 }, 'text column "text" is not a string (it holds a bigint)'],
        ["numeric.parquet", { rowGroup: 0, row: 1 }, 'text column "text" is not a string (it holds a bigint)'],
        ["zero.parquet", {}, "no rows: the Parquet file is empty"],
      ]);
    },
    120_000,
  );
});

describe("lwm run: bad configuration and output folders stop at once, without a stack trace", () => {
  it("names a misspelt recipe key and the nearest known one; reads a recipe with a BOM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "recipe-keys-"));
    await writeFile(join(dir, "a.txt"), prose(1, 200));
    const recipe = recipeOf({ sources: [{ kind: "books", name: "b", paths: ["a.txt"] }] }) as unknown as Record<string, unknown>;
    recipe.steps = { books: { minchars: 10, stripGutenbergg: false } };
    const path = join(dir, "recipe.json");
    await writeFile(path, `\uFEFF${JSON.stringify(recipe)}`);
    const r = await lwm(["run", path, "--out", join(dir, "out")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'steps.books: unknown key "minchars" (did you mean "minChars"?); unknown key "stripGutenbergg" (did you mean "stripGutenberg"?)',
    );
  }, 60_000);

  it("checks bounds at the border, naming the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "recipe-bounds-"));
    const recipe = recipeOf({ sources: [{ kind: "books", name: "b", paths: ["a.txt"] }] });
    recipe.stages = [{ name: "huge", seqLen: 2e9, ropeTheta: 1e6, mixture: {} }];
    const r = await lwm(["run", await writeRecipe(dir, recipe), "--out", join(dir, "out")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("stages[0].seqLen: Too big: expected number to be <=4194304");
    expect(r.stderr).toContain("stages[0].mixture: a stage's mixture names at least one source");
  }, 60_000);

  it("flags: --steps with no step, --threads past the bound, a negative --task-index", async () => {
    const dir = await mkdtemp(join(tmpdir(), "run-flags-"));
    const path = await writeRecipe(dir, recipeOf({ sources: [{ kind: "books", name: "b", paths: ["a.txt"] }] }));
    const steps = await lwm(["run", path, "--steps", ","]);
    expect([steps.code, steps.stderr.split("\n")[0]]).toEqual([2, "lwm run: --steps names no step; known: books, vision, qa, recall, pack"]);
    const threads = await lwm(["run", path, "--threads", "100000"]);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/^lwm run: --threads must be an integer from 1 to \d+, got "100000"/);
    const index = await lwm(["run", path, "--task-index", "-1", "--task-count", "2"]);
    expect(index.code).toBe(2);
    expect(index.stderr).toMatch(/^lwm run: --task-index must be an integer >= 0, got "-1"/);
  }, 60_000);

  it("an output folder that is a file, or cannot be written, is exit 2 with the reason", async () => {
    const dir = await scratch("run-out-");
    await writeFile(join(dir, "a.txt"), prose(2, 200));
    const path = await writeRecipe(dir, recipeOf({ sources: [{ kind: "books", name: "b", paths: ["a.txt"] }] }));
    await writeFile(join(dir, "file"), "");
    const file = await lwm(["run", path, "--out", join(dir, "file")]);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(`lwm run: cannot write the output folder ${join(dir, "file")}: a file of that name exists (give a folder)\n`);
    if (!asNobody) return;
    await mkdir(join(dir, "locked"), { mode: 0o555 });
    await chmod(join(dir, "recipe.json"), 0o644);
    const locked = lwmAsNobody(["run", path, "--out", join(dir, "locked", "out")]);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toBe(`lwm run: cannot write the output folder ${join(dir, "locked", "out")}: permission denied\n`);
    expect(await readFile(path, "utf8")).toContain("books");
  }, 60_000);
});
