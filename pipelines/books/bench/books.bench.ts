/**
 * Books step vs a bare HF tokenizers encodeBatch loop over the same cleaned text, same thread
 * budget, one run. Usage: npm run bench -w @lwm/books [-- --threads 2 --min-tokens 20000000]
 *
 * Corpus: the books of ../shared/data/books (generated prose when absent), raw (PG framing
 * included), repeated under distinct ids into one JSONL until it holds at least --min-tokens
 * tokens. The books step reads that JSONL and does everything (hash, read, clean, tokenize, write
 * Arrow, window one stage, finalize; dedup off). The peer gets the already-cleaned texts in memory
 * and only tokenizes them (Tokenizer.fromFile + encodeBatch + getIds, batches of the same size).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cleanText } from "@lwm/books";
import { LLAMA2_TOKENIZER_JSON } from "@lwm/tokenizer";
import { Tokenizer as NativeTokenizer } from "tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const CLI = join(repoRoot, "packages/cli/dist/main.js");
const BATCH_CHARS = 4 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    "min-tokens": { type: "string", default: "20000000" },
    peer: { type: "string" },
    keep: { type: "boolean", default: false },
    reps: { type: "string", default: "2" },
  },
});
const threads = Number(values.threads);

/** The peer, in its own process so that its rayon pool gets exactly `threads` threads. */
async function peer(cleanedPath: string): Promise<void> {
  const texts = (await readFile(cleanedPath, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string);
  const tokenizer = NativeTokenizer.fromFile(LLAMA2_TOKENIZER_JSON);
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let tokens = 0;
  let batch: string[] = [];
  let chars = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const encodings = await tokenizer.encodeBatch(batch, { addSpecialTokens: false });
    for (const e of encodings) tokens += Uint32Array.from(e.getIds()).length;
    batch = [];
    chars = 0;
  };
  for (const t of texts) {
    batch.push(t);
    chars += t.length;
    if (chars >= BATCH_CHARS) await flush();
  }
  await flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  process.stdout.write(JSON.stringify({ tokens, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + "\n");
}

interface PeerResult {
  tokens: number;
  seconds: number;
  cpuSeconds: number;
}

function runPeer(cleanedPath: string): PeerResult {
  const run = spawnSync("npx", ["vite-node", fileURLToPath(import.meta.url), "--", "--peer", cleanedPath], {
    encoding: "utf8",
    cwd: join(here, ".."),
    env: { ...process.env, RAYON_NUM_THREADS: String(threads) },
  });
  if (run.status !== 0) throw new Error(`peer failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() as string) as PeerResult;
}

async function rawBooks(): Promise<{ name: string; text: string }[]> {
  const shared = resolve(repoRoot, "../shared/data/books");
  if (existsSync(shared)) {
    const names = (await readdir(shared)).filter((n) => n.endsWith(".txt")).sort();
    return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(shared, name), "utf8") })));
  }
  console.warn("../shared/data/books not found: using generated prose");
  const words = "the of and to in was he that it his her with as had for she not but at on be my is you by all which were".split(" ");
  return Array.from({ length: 8 }, (_, b) => ({
    name: `generated-${b}`,
    text: Array.from({ length: 150_000 }, (_, i) => words[(i * 7 + b * 13 + ((i * i) % 11)) % words.length]).join(" "),
  }));
}

async function main(): Promise<void> {
  if (values.peer) return peer(values.peer);
  const dir = join(tmpdir(), "lwm-books-bench");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const books = await rawBooks();
  const cleaned = books.map((b) => {
    const c = cleanText(b.text, { stripGutenberg: true, minChars: 1 });
    if (!c.ok) throw new Error(`${b.name}: ${c.reason}`);
    return c.text;
  });
  const tokenizer = NativeTokenizer.fromFile(LLAMA2_TOKENIZER_JSON);
  let perCopy = 0;
  for (const t of cleaned) perCopy += (await tokenizer.encode(t, null, { addSpecialTokens: false })).getIds().length;
  const copies = Math.ceil(Number(values["min-tokens"]) / perCopy);

  const jsonl: string[] = [];
  const cleanedLines: string[] = [];
  for (let c = 0; c < copies; c += 1) {
    books.forEach((b, i) => {
      jsonl.push(JSON.stringify({ id: `${c}-${b.name}`, text: b.text }));
      cleanedLines.push(JSON.stringify(cleaned[i]));
    });
  }
  await writeFile(join(dir, "books.jsonl"), jsonl.join("\n") + "\n");
  await writeFile(join(dir, "cleaned.jsonl"), cleanedLines.join("\n") + "\n");
  const recipe = {
    formatVersion: 1,
    name: "books-bench",
    sources: [{ kind: "books", name: "books", paths: ["books.jsonl"], idField: "id" }],
    steps: { books: { dedup: false, tokenizeBatchChars: BATCH_CHARS } },
    stages: [{ name: "s32k", seqLen: 32768, ropeTheta: 1e6, mixture: { books: 1 } }],
  };
  await writeFile(join(dir, "recipe.json"), JSON.stringify(recipe));
  console.log(
    `corpus: ${books.length} books × ${copies} copies = ${jsonl.length} documents, ${(perCopy * copies).toLocaleString()} tokens, ${((await readFile(join(dir, "books.jsonl"))).byteLength / 1e6).toFixed(1)} MB JSONL`,
  );
  console.log(`machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores, Node ${process.version}; thread budget ${threads} for both`);

  // Peer and step alternate, so that a change in machine load hits both alike.
  const rows: [string, number, number, number][] = [];
  let peerCpu = 0;
  let stepCpu = 0;
  let peerSeconds = 0;
  let stepSeconds = 0;
  let wallSeconds = 0;
  let tokens = 0;
  for (let rep = 0; rep < Number(values.reps); rep += 1) {
    const peerResult = runPeer(join(dir, "cleaned.jsonl"));
    await rm(join(dir, "out"), { recursive: true, force: true });
    const started = process.hrtime.bigint();
    const step = spawnSync(
      process.execPath,
      [CLI, "run", join(dir, "recipe.json"), "--out", join(dir, "out"), "--threads", String(threads), "--json", "--progress-seconds", "30"],
      {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    );
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (step.status !== 0) throw new Error(`books step failed: ${step.stderr}`);
    const [report] = JSON.parse(step.stdout) as { timeMs: number; cpuMs: { user: number; system: number }; details: { tokens: { kept: number } } }[];
    if (!report) throw new Error("no report");
    const stepTokens = report.details.tokens.kept;
    if (stepTokens !== peerResult.tokens) throw new Error(`token counts differ: step ${stepTokens}, peer ${peerResult.tokens}`);
    tokens = stepTokens;
    const cpu = (report.cpuMs.user + report.cpuMs.system) / 1000;
    peerCpu += peerResult.cpuSeconds;
    stepCpu += cpu;
    peerSeconds += peerResult.seconds;
    stepSeconds += report.timeMs / 1000;
    wallSeconds += wall;
    rows.push([`${rep + 1}: bare encodeBatch loop (peer, cleaned text in memory)`, peerResult.seconds, tokens / peerResult.seconds, peerResult.cpuSeconds]);
    rows.push([`${rep + 1}: books step (report time: plan + units + finalize)`, report.timeMs / 1000, tokens / (report.timeMs / 1000), cpu]);
    rows.push([`${rep + 1}: books step (process wall time, incl. Node start)`, wall, tokens / wall, Number.NaN]);
  }
  console.log("| run | wall s | ktok/s | CPU s (all threads) |\n|---|---|---|---|");
  for (const [name, s, r, c] of rows) console.log(`| ${name} | ${s.toFixed(2)} | ${(r / 1000).toFixed(0)} | ${Number.isNaN(c) ? "–" : c.toFixed(1)} |`);
  console.log(
    `ratio books/peer over all reps: ${(peerSeconds / stepSeconds).toFixed(3)} (report wall time), ${(peerSeconds / wallSeconds).toFixed(3)} (process wall time), ` +
      `${(peerCpu / stepCpu).toFixed(3)} (CPU time); ${tokens.toLocaleString()} tokens per run`,
  );
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
