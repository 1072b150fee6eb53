/**
 * The qa step end to end, through the real CLI: books → qa → pack on generated books (no
 * ../shared/data needed), with the extractive generator and with the openai generator against a
 * real chat-completions server on loopback (started here).
 * - every QA example: BOS … EOS, LWM's chat layout, loss exactly on the answers' tokens and EOS,
 *   provenance kind "qa" with the document, chunk ids and QA ids; `lwm validate` passes the stage;
 * - 2 slices + finalize give the same examples as one run; a seqLen change only re-assembles;
 * - openai: the API key comes from the variable the recipe names and is in no file under out/;
 *   regenerating from scratch is answered from the request cache (zero requests).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listFiles, stepOutputDir } from "@lwm/core";
import { ExtractiveGenerator } from "@lwm/qa";
import { QaRecord, type SourcedExample } from "@lwm/schemas";
import { readStageExamples } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { ChatServer, pairsReply, errorReply } from "../packages/qa/src/test-helpers/chat-server.js";
import { spawn } from "node:child_process";
import { CLI, lwm, lwmSpawn, repoRoot, writeRecipe, type CliResult } from "./books-helpers.js";

/** `lwm <args>` in a child process without blocking this one (the loopback server lives here). */
function lwmAsync(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const FIRST = ["Eliza", "Jonas", "Mara", "Tobias", "Ada", "Silas", "Nell", "Owen", "Ivy", "Basil", "Greta", "Rufus", "Clara", "Felix", "Hugo"];
const LAST = ["Harwood", "Pike", "Quill", "Wren", "Finch", "Marsh", "Rook", "Crane", "Stone", "Hale", "Moss", "Lark", "Vane"];
const PLACES = [
  "Port Alder",
  "Kestrel Bay",
  "Salt Harbour",
  "Whitby Cove",
  "Ravensend",
  "Mill Haven",
  "Thornquay",
  "Ashmouth",
  "Brinemoor",
  "Fenwick",
  "Larkspur",
];
const THINGS = [
  "silver compass",
  "torn map",
  "brass key",
  "green bottle",
  "wooden flute",
  "red scarf",
  "iron bell",
  "glass eye",
  "cracked mirror",
  "tin whistle",
  "leather purse",
];

/** A generated book: chapters whose names, places, years and objects rarely repeat. */
function book(seed: number, chapters: number): string {
  const parts: string[] = [];
  for (let i = 0; i < chapters; i++) {
    const k = seed * 31 + i;
    const who = `${FIRST[k % FIRST.length]} ${LAST[(k * 7) % LAST.length]}`;
    const friend = FIRST[(k * 11 + 3) % FIRST.length];
    parts.push(
      `Chapter ${i + 1}\n\nIn the spring of ${1700 + k}, ${who} left ${PLACES[k % PLACES.length]} with ${12 + (k % 40)} sailors and a ${THINGS[k % THINGS.length]}. ` +
        `The crossing to ${PLACES[(k + 4) % PLACES.length]} lasted ${3 + (k % 9)} weeks, and ${friend} kept the log in a careful hand. ` +
        `Some evenings the crew argued about the weather, the wages and the food. ` +
        `When they finally arrived, a harbourmaster called ${LAST[(k * 3 + 1) % LAST.length]} asked for ${k % 7 === 0 ? "seven" : k % 2 === 0 ? "nine" : "four"} silver coins.\n`,
    );
  }
  return parts.join("\n");
}

interface Report {
  step: string;
  ok: boolean;
  units: { executed: number; skipped: number };
  metrics: { total: Record<string, number>; executed: Record<string, number> };
  rejects: { byReason: Record<string, number> };
  details: { sources?: Record<string, { counters: Record<string, number> }> } | null;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function corpus(generator: unknown = { kind: "extractive" }): Promise<{ dir: string; recipePath: string; recipe: Record<string, unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), "lwm-qa-e2e-"));
  dirs.push(dir);
  await writeFile(join(dir, "voyages.txt"), book(1, 40));
  await writeFile(join(dir, "harbours.txt"), book(2, 30));
  const recipe = {
    formatVersion: 1,
    name: "qa-e2e",
    sources: [
      { kind: "books", name: "books", paths: ["voyages.txt", "harbours.txt"] },
      { kind: "qa", name: "qa", from: ["books"], generator, chunkTokens: 300, qaPerChunk: 2, questionsPerExample: 2, seed: 3 },
    ],
    steps: { pack: { rowsPerShard: 8 } },
    stages: [{ name: "s2k", seqLen: 2048, ropeTheta: 1e6, mixture: { books: 1, qa: 1 } }],
  };
  return { dir, recipe, recipePath: await writeRecipe(dir, recipe) };
}

async function qaExamples(out: string): Promise<SourcedExample[]> {
  const all: SourcedExample[] = [];
  for await (const e of readStageExamples(stepOutputDir(out, "qa", "examples", "s2k"))) all.push(e);
  return all;
}

async function qaRecords(out: string): Promise<Map<string, QaRecord>> {
  const units = join(out, "work/qa/units");
  const records = new Map<string, QaRecord>();
  for (const key of await readdir(units)) {
    const text = await readFile(join(units, key, "qa.jsonl"), "utf8").catch(() => "");
    for (const line of text.split("\n").filter(Boolean)) {
      const r = QaRecord.parse(JSON.parse(line));
      records.set(r.qaId, r);
    }
  }
  return records;
}

const examplesDigest = async (out: string) => Object.fromEntries((await listFiles(stepOutputDir(out, "qa", "examples"))).map((f) => [f.path, f.sha256]));

describe("qa step", () => {
  it("writes long-context chat examples with loss on the answers only, that pack and validate accept; slices equal one run", async () => {
    const { dir, recipePath } = await corpus();
    const out = join(dir, "out");
    const r = lwm(["run", recipePath, "--out", out, "--threads", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as Report[];
    expect(reports.map((x) => x.step)).toEqual(["books", "qa", "recall", "pack"]);
    const qa = reports[1] as Report;
    expect(qa.metrics.total.pairsAsked).toBe(qa.metrics.total.pairsAccepted! + qa.metrics.total.pairsRejected!);
    expect(qa.metrics.total.pairsAccepted).toBeGreaterThan(qa.metrics.total.pairsAsked! * 0.8);
    expect(lwm(["validate", join(out, "s2k")]).code).toBe(0);

    const tokenizer = await loadTokenizer();
    const records = await qaRecords(out);
    const examples = await qaExamples(out);
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const prefix = "You are a helpful assistant. USER:";
    for (const e of examples) {
      expect(e.task).toBe("qa-chat");
      expect(e.source).toBe("qa");
      expect(e.tokens.length).toBeLessThanOrEqual(2048);
      expect(e.tokens[0]).toBe(tokenizer.bosId);
      expect(e.tokens[e.tokens.length - 1]).toBe(tokenizer.eosId);
      expect(Array.from(e.vision).every((v) => v === 0)).toBe(true);
      const p = e.provenance;
      if (p.kind !== "qa") throw new Error(`provenance kind ${p.kind}`);
      expect(p.document).toBe(e.documentId);
      expect(p.book).toMatch(/^(voyages|harbours)\.txt$/);
      expect(p.qaIds.length).toBeGreaterThanOrEqual(1);
      const asked = p.qaIds.map((id) => records.get(id) as QaRecord);
      for (const q of asked) {
        expect(p.chunkIds).toContain(q.chunkId);
        expect(q.generator.kind).toBe("extractive");
      }
      // loss: exactly the answers' tokens, then EOS
      const lossIds = Array.from(e.tokens).filter((_, i) => e.loss[i] === 1);
      const want = [...(await Promise.all(asked.map((q) => tokenizer.encode(q.answer)))).flatMap((a) => Array.from(a)), tokenizer.eosId];
      expect(lossIds).toEqual(want);
      const text = await tokenizer.decode(e.tokens);
      expect(text.startsWith(prefix)).toBe(true); // then the context: " The…" mid-paragraph, "\n\nChapter…" after a paragraph break
      expect(text.slice(prefix.length)).toMatch(/^\s/);
      expect(text).toContain(` ${asked[0]!.question} ASSISTANT: ${asked[0]!.answer}`);
    }

    // 2 slices of the qa step + a finalizing run give the same published examples
    const sliced = join(dir, "sliced");
    expect(lwm(["run", recipePath, "--out", sliced, "--steps", "books"]).code).toBe(0);
    const children = [0, 1].map((i) =>
      lwmSpawn(["run", recipePath, "--out", sliced, "--steps", "qa", "--threads", "1", "--task-index", String(i), "--task-count", "2"]),
    );
    expect(await Promise.all(children.map((c) => new Promise<number | null>((resolve) => c.on("exit", resolve))))).toEqual([0, 0]);
    const fin = lwm(["run", recipePath, "--out", sliced, "--steps", "qa", "--json"]);
    expect(fin.code, fin.stderr).toBe(0);
    expect((JSON.parse(fin.stdout) as Report[])[0]?.units.executed).toBe(0);
    expect(await examplesDigest(sliced)).toEqual(await examplesDigest(out));
  }, 240_000);

  it("a seqLen change re-assembles without regenerating; a rerun does nothing", async () => {
    const { dir, recipePath, recipe } = await corpus();
    const out = join(dir, "out");
    expect(lwm(["run", recipePath, "--out", out, "--steps", "books,qa"]).code).toBe(0);
    (recipe.stages as { seqLen: number }[])[0]!.seqLen = 4096;
    const changed = join(dir, "changed.json");
    await writeFile(changed, JSON.stringify(recipe));
    const r = lwm(["run", changed, "--out", out, "--steps", "qa", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as Report[];
    expect(report?.metrics.executed.chunks).toBeUndefined(); // no generate unit ran
    expect(report?.metrics.executed.examples).toBeGreaterThan(0);
    expect(report?.units.executed).toBe(2); // one assemble unit per book
    const again = JSON.parse(lwm(["run", changed, "--out", out, "--steps", "qa", "--json"]).stdout) as Report[];
    expect(again[0]?.units.executed).toBe(0);
  }, 180_000);

  it("runs the openai generator against a loopback server: key from the environment, never written; regeneration is served from the request cache", async () => {
    const KEY = "sk-e2e-3f9a1c7d5e";
    // The "model" behind the server: the extractive rule, so the answers are grounded; the first
    // request of every passage is rate limited once.
    const rule = new ExtractiveGenerator();
    const server = await ChatServer.start(async (req) => {
      if (req.authorization !== `Bearer ${KEY}`) return errorReply(401, "bad key");
      if (req.attempt === 1 && req.passage.includes("Chapter 3\n")) return errorReply(429, "slow down", { "retry-after": "0" });
      const g = await rule.generate({ id: req.passage.slice(0, 40), text: req.passage }, 2);
      return pairsReply(g.ok ? g.pairs.flatMap((p) => ("pair" in p ? [p.pair] : [])) : []);
    });
    try {
      const { dir, recipePath } = await corpus({
        kind: "openai",
        baseUrl: server.url,
        model: "rule-behind-http",
        apiKeyEnv: "LWM_QA_E2E_KEY",
        concurrency: 4,
        timeoutMs: 20_000,
        backoffBaseMs: 50,
      });
      const out = join(dir, "out");
      const missing = lwm(["run", recipePath, "--out", out, "--steps", "books,qa"], { LWM_QA_E2E_KEY: "" });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/sources\[1\]\.generator\.apiKeyEnv: the environment variable LWM_QA_E2E_KEY is not set/);

      const r = await lwmAsync(["run", recipePath, "--out", out, "--json"], { LWM_QA_E2E_KEY: KEY });
      expect(r.code, r.stderr).toBe(0);
      const qa = (JSON.parse(r.stdout) as Report[])[1] as Report;
      const sent = server.requests.length;
      expect(qa.details?.sources?.qa?.counters).toMatchObject({ requests: sent, rateLimited: expect.any(Number), cacheHits: 0 });
      expect(qa.metrics.total.pairsAccepted).toBeGreaterThan(0);
      expect(lwm(["validate", join(out, "s2k")]).code).toBe(0);
      for (const e of await qaExamples(out)) {
        if (e.provenance.kind !== "qa") throw new Error("not qa");
        expect(e.provenance.model).toBe("rule-behind-http");
      }

      // regenerate from scratch: every request is answered from the on-disk cache
      await rm(join(out, "work/qa/units"), { recursive: true });
      const again = await lwmAsync(["run", recipePath, "--out", out, "--steps", "qa", "--json"], { LWM_QA_E2E_KEY: KEY });
      expect(again.code, again.stderr).toBe(0);
      expect(server.requests.length).toBe(sent);
      expect((JSON.parse(again.stdout) as Report[])[0]?.details?.sources?.qa?.counters).toMatchObject({ requests: 0 });

      for (const f of await listFiles(out)) expect((await readFile(join(out, f.path))).includes(KEY), f.path).toBe(false);
    } finally {
      await server.close();
    }
  }, 240_000);
});
