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
import { setTimeout as sleep } from "node:timers/promises";
import { ChatServer, pairsReply, errorReply } from "../packages/qa/src/test-helpers/chat-server.js";
import { lwmSpawn, writeRecipe } from "./books-helpers.js";
import { lwm, lwmChild } from "./cli.js";
import { book, until, type StepReportJson as Report } from "./qa-helpers.js";

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
    const r = await lwm(["run", recipePath, "--out", out, "--threads", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as Report[];
    expect(reports.map((x) => x.step)).toEqual(["books", "vision", "qa", "recall", "pack"]);
    const qa = reports.find((x) => x.step === "qa") as Report;
    expect(qa.metrics.total.pairsAsked).toBe(qa.metrics.total.pairsAccepted! + qa.metrics.total.pairsRejected!);
    expect(qa.metrics.total.pairsAccepted).toBeGreaterThan(qa.metrics.total.pairsAsked! * 0.8);
    expect((await lwm(["validate", join(out, "s2k")])).code).toBe(0);

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
    expect((await lwm(["run", recipePath, "--out", sliced, "--steps", "books"])).code).toBe(0);
    const children = [0, 1].map((i) =>
      lwmSpawn(["run", recipePath, "--out", sliced, "--steps", "qa", "--threads", "1", "--task-index", String(i), "--task-count", "2"]),
    );
    expect(await Promise.all(children.map((c) => new Promise<number | null>((resolve) => c.on("exit", resolve))))).toEqual([0, 0]);
    const fin = await lwm(["run", recipePath, "--out", sliced, "--steps", "qa", "--json"]);
    expect(fin.code, fin.stderr).toBe(0);
    expect((JSON.parse(fin.stdout) as Report[])[0]?.units.executed).toBe(0);
    expect(await examplesDigest(sliced)).toEqual(await examplesDigest(out));
  }, 240_000);

  it("a seqLen change re-assembles without regenerating; a rerun does nothing", async () => {
    const { dir, recipePath, recipe } = await corpus();
    const out = join(dir, "out");
    expect((await lwm(["run", recipePath, "--out", out, "--steps", "books,qa"])).code).toBe(0);
    (recipe.stages as { seqLen: number }[])[0]!.seqLen = 4096;
    const changed = join(dir, "changed.json");
    await writeFile(changed, JSON.stringify(recipe));
    const r = await lwm(["run", changed, "--out", out, "--steps", "qa", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as Report[];
    expect(report?.metrics.executed.chunks).toBeUndefined(); // no generate unit ran
    expect(report?.metrics.executed.examples).toBeGreaterThan(0);
    expect(report?.units.executed).toBe(2); // one assemble unit per book
    const again = JSON.parse((await lwm(["run", changed, "--out", out, "--steps", "qa", "--json"])).stdout) as Report[];
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
      // an unset key variable stops the run before any step starts: no books work is lost to it
      const missing = await lwm(["run", recipePath, "--out", out], { LWM_QA_E2E_KEY: "" });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/sources\[1\]\.generator\.apiKeyEnv: the environment variable LWM_QA_E2E_KEY is not set/);
      expect(await readdir(out)).toEqual([]);

      const r = await lwm(["run", recipePath, "--out", out, "--json"], { LWM_QA_E2E_KEY: KEY });
      expect(r.code, r.stderr).toBe(0);
      const qa = (JSON.parse(r.stdout) as Report[]).find((x) => x.step === "qa") as Report;
      const sent = server.requests.length;
      expect(qa.details?.sources?.qa?.counters).toMatchObject({ requests: sent, rateLimited: expect.any(Number), cacheHits: 0 });
      expect(qa.metrics.total.pairsAccepted).toBeGreaterThan(0);
      expect((await lwm(["validate", join(out, "s2k")])).code).toBe(0);
      for (const e of await qaExamples(out)) {
        if (e.provenance.kind !== "qa") throw new Error("not qa");
        expect(e.provenance.model).toBe("rule-behind-http");
      }

      // regenerate from scratch: every request is answered from the on-disk cache
      await rm(join(out, "work/qa/units"), { recursive: true });
      const again = await lwm(["run", recipePath, "--out", out, "--steps", "qa", "--json"], { LWM_QA_E2E_KEY: KEY });
      expect(again.code, again.stderr).toBe(0);
      expect(server.requests.length).toBe(sent);
      expect((JSON.parse(again.stdout) as Report[])[0]?.details?.sources?.qa?.counters).toMatchObject({ requests: 0 });

      for (const f of await listFiles(out)) expect((await readFile(join(out, f.path))).includes(KEY), f.path).toBe(false);
    } finally {
      await server.close();
    }
  }, 240_000);

  it("SIGKILL mid-QA, then a rerun: only the requests never answered are sent again; the output equals an uninterrupted run's", async () => {
    // A slow server (50 ms per answer) that, while `answerLimit` is set, answers that many requests
    // and then holds every further one open: the kill lands with answers on disk and requests in flight.
    const rule = new ExtractiveGenerator();
    let answerLimit = Infinity;
    const answered = new Set<string>();
    const server = await ChatServer.start(async (req) => {
      if (answered.size >= answerLimit) return { kind: "hang" };
      answered.add(req.passage);
      await sleep(50);
      const g = await rule.generate({ id: req.passage.slice(0, 40), text: req.passage }, 2);
      return pairsReply(g.ok ? g.pairs.flatMap((p) => ("pair" in p ? [p.pair] : [])) : []);
    });
    const passagesOf = (from: number) => server.requests.slice(from).map((r) => r.passage);
    try {
      const { dir, recipePath } = await corpus({ kind: "openai", baseUrl: server.url, model: "slow-rule", concurrency: 4, timeoutMs: 60_000 });

      // the uninterrupted run
      const reference = join(dir, "reference");
      const whole = await lwm(["run", recipePath, "--out", reference], {});
      expect(whole.code, whole.stderr).toBe(0);
      const all = passagesOf(0);
      expect(new Set(all).size).toBe(all.length); // one request per chunk, none repeated
      expect(all.length).toBeGreaterThanOrEqual(12);

      // the killed run: a third of the requests answered (and cached), four more in flight
      const out = join(dir, "out");
      const cacheDir = join(out, "work/qa/request-cache");
      const cached = async () => (await listFiles(cacheDir).catch(() => [])).filter((f) => /[0-9a-f]{64}\.json$/.test(f.path)).length;
      answered.clear();
      answerLimit = Math.floor(all.length / 3);
      const before = server.requests.length;
      const killed = lwmChild(["run", recipePath, "--out", out], {});
      await until(async () => server.requests.length - before >= answerLimit + 4 && (await cached()) === answerLimit);
      killed.child.kill("SIGKILL");
      expect((await killed.done).code).toBeNull();
      const answeredBeforeKill = new Set(answered);
      expect(answeredBeforeKill.size).toBe(answerLimit);
      expect(await readdir(join(out, "work/qa")).catch(() => [])).not.toContain("report.json");

      // the rerun sends exactly the requests that were never answered, each once
      answerLimit = Infinity;
      const resumeFrom = server.requests.length;
      const rerun = await lwm(["run", recipePath, "--out", out, "--json"], {});
      expect(rerun.code, rerun.stderr).toBe(0);
      const resent = passagesOf(resumeFrom);
      expect(resent.filter((p) => answeredBeforeKill.has(p))).toEqual([]);
      expect(new Set(resent).size).toBe(resent.length);
      expect([...resent, ...answeredBeforeKill].sort()).toEqual([...all].sort());
      const qa = (JSON.parse(rerun.stdout) as Report[]).find((r) => r.step === "qa") as Report;
      expect(qa.details?.sources?.qa?.counters).toMatchObject({ requests: resent.length, cacheHits: answeredBeforeKill.size });

      // and what it published is byte for byte the uninterrupted run's
      expect(await examplesDigest(out)).toEqual(await examplesDigest(reference));
      const shards = async (root: string) =>
        Object.fromEntries((await listFiles(join(root, "s2k"))).filter((f) => f.path.endsWith(".arrow")).map((f) => [f.path, f.sha256]));
      expect(await shards(out)).toEqual(await shards(reference));
    } finally {
      await server.close();
    }
  }, 240_000);
});
