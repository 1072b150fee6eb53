/**
 * The hostile run of issue #16: every kind of bad input in one folder beside two good books, plus
 * the memory and time cases at full size (a 1 MB .jsonl.gz inflating to 1 GiB with no
 * newline, a .jsonl.zst inflating to 5 GiB, a 50 MB .txt on one line). Runs `lwm run --steps books`
 * under /usr/bin/time -v and prints wall time, peak RSS, rejects by reason and the kept documents.
 * Usage: vite-node bench/hostile.bench.ts [-- --threads 2]   (as root it runs the CLI as nobody,
 * so that the unreadable file and folder are unreadable)
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeGzipBomb, zstdBomb } from "../src/test-helpers/bombs.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const sharedBooks = resolve(repoRoot, "../shared/data/books");
const MiB = 1024 * 1024;
const { values } = parseArgs({ options: { threads: { type: "string", default: "2" } } });

function words(seed: number, n: number): string {
  const vocab = "the of and to in was he that it his her with as had for she not but at on be my is you by all which were this".split(" ");
  let state = seed >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < n; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out.push(vocab[state % vocab.length] as string);
  }
  return out.join(" ");
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "hostile-bench-"));
  await chmod(dir, 0o777);
  const data = join(dir, "data");
  const elsewhere = join(dir, "elsewhere");
  await mkdir(join(elsewhere, "folder"), { recursive: true });
  await mkdir(data);
  // Two good books: real ones when ../shared/data is there.
  const real = existsSync(sharedBooks)
    ? (await readdir(sharedBooks))
        .filter((n) => n.endsWith(".txt"))
        .sort()
        .slice(0, 2)
    : [];
  if (real.length === 2) for (const name of real) await writeFile(join(data, `good-${name}`), await readFile(join(sharedBooks, name)));
  else for (const i of [1, 2]) await writeFile(join(data, `good-${i}.txt`), words(i, 200_000).replace(/(\S+ ){12}/g, "$&\n"));
  await writeFile(
    join(data, "records.jsonl"),
    [JSON.stringify({ text: words(3, 500) }), '{"text": "bad \\ud800 here"}', JSON.stringify({ text: words(4, 500) })].join("\n") + "\n",
  );
  await writeFile(join(data, "bom.jsonl"), `\uFEFF${JSON.stringify({ text: words(5, 500) })}\n`);
  await writeFile(join(elsewhere, "linked.txt"), words(6, 1000));
  await writeFile(join(elsewhere, "folder", "inside.txt"), words(7, 1000));
  await symlink(join(elsewhere, "linked.txt"), join(data, "link.txt"));
  await symlink(join(elsewhere, "folder"), join(data, "linked-folder"));
  await symlink(join(dir, "nowhere.txt"), join(data, "broken.txt"));
  await symlink(data, join(data, "loop"));
  await writeFile(join(data, "unreadable.txt"), words(8, 100));
  await chmod(join(data, "unreadable.txt"), 0o000);
  await mkdir(join(data, "locked"));
  await writeFile(join(data, "locked", "x.txt"), words(9, 100));
  await chmod(join(data, "locked"), 0o000);
  spawnSync("mkfifo", [join(data, "fifo.jsonl")]);
  await writeGzipBomb(join(data, "bomb-1GiB.jsonl.gz"), 1024 * MiB, 9);
  await writeFile(join(data, "bomb-5GiB.jsonl.zst"), zstdBomb(5 * 1024 * MiB));
  await writeFile(join(data, "one-line-50MB.txt"), words(10, 10_000_000).slice(0, 50 * 1000 * 1000));
  await writeFile(
    join(data, "no-body.txt"),
    "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nSection 1. licence\n",
  );
  await writeFile(join(data, "utf16.txt"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(words(11, 100), "utf16le")]));
  await writeFile(join(data, "empty.parquet"), "");
  await writeFile(join(data, "empty.jsonl"), "");
  await writeFile(join(data, "numeric.jsonl"), `${JSON.stringify({ text: 42 })}\n`);
  await writeFile(join(data, "binary.txt"), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), Buffer.alloc(100, 7)]));
  await writeFile(join(data, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  await writeFile(join(data, "truncated.jsonl.gz"), (await readFile(join(data, "bomb-1GiB.jsonl.gz"))).subarray(0, 1000));
  await writeFile(join(data, "garbage.jsonl.zst"), Buffer.from("not zstd at all"));
  await writeFile(join(data, "corrupt.epub"), Buffer.from("PK\u0003\u0004 not really a zip"));

  const recipe = {
    formatVersion: 1,
    name: "hostile",
    sources: [{ kind: "books", name: "hostile", paths: ["data"] }],
    stages: [{ name: "s4k", seqLen: 4096, ropeTheta: 1e6, mixture: { hostile: 1 } }],
  };
  await writeFile(join(dir, "recipe.json"), JSON.stringify(recipe, null, 2));
  const asNobody = process.getuid?.() === 0 && spawnSync("runuser", ["--help"]).status === 0;
  const command = [
    ...(asNobody ? ["runuser", "-u", "nobody", "--"] : []),
    "/usr/bin/time",
    "-v",
    process.execPath,
    CLI,
    "run",
    "--steps",
    "books",
    join(dir, "recipe.json"),
    "--out",
    join(dir, "out"),
    "--threads",
    values.threads as string,
    "--json",
  ];
  const started = Date.now();
  const r = spawnSync(command[0] as string, command.slice(1), { encoding: "utf8", maxBuffer: 1 << 28 });
  const wall = (Date.now() - started) / 1000;
  const peak = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  const [report] = JSON.parse(r.stdout) as {
    ok: boolean;
    rejects: { total: number; byReason: Record<string, number> };
    metrics: { total: Record<string, number> };
  }[];
  const rejects = (await readFile(join(dir, "out/work/books/rejects.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { source: string; reason: string });
  console.log(`good books: ${real.length === 2 ? real.join(", ") : "generated"}; threads ${values.threads}; ${asNobody ? "as nobody" : "as the current user"}`);
  console.log(`exit ${r.status}, ok ${report?.ok}; wall ${wall.toFixed(1)} s; peak RSS ${peak.toFixed(0)} MiB`);
  console.log(`documents ${report?.metrics.total.documents}, tokens ${report?.metrics.total.tokens}; ${report?.rejects.total} rejects`);
  for (const x of rejects) console.log(`  ${x.source}: ${x.reason}`);
  console.log("peer (issue #16, before): 1 GiB gzip bomb peaked at 3.46 GB, 5 GiB zstd at 5.7 GB; 50 MB single line: 167 s, 4.5 GB");
}

await main();
