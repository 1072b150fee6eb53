/**
 * The qa step with the local generator, through the real CLI: a tiny Llama is trained here (the
 * trainer's engine, saved as `lwm train` saves) to answer the QA prompt of every chunk of a small
 * generated book; `lwm run` then writes the QA with that checkpoint (engine prefill + KV-cache
 * decoding, top-p with a seed), packs it, and a second run from scratch (books and qa only: pack
 * is checked on the first, which goes on from the books the model was trained on) gives the same
 * bytes. A recipe naming a checkpoint that is not there
 * stops before any step starts. The book is one chapter (two chunks): training and decoding cost
 * grow with the chunks, and two are enough to show that each chunk gets its own learned pair.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listFiles, stepOutputDir } from "@lwm/core";
import { charOffsetsOfBytes, chunkDocument, ExtractiveGenerator, type QaPair } from "@lwm/qa";
import { QaRecord } from "@lwm/schemas";
import { readDocumentsFile, readDocumentsIndex } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { trainTinyQaModel, type QaTask } from "../packages/qa/src/test-helpers/tiny-qa-model.js";
import { writeRecipe } from "./books-helpers.js";
import { lwm } from "./cli.js";
import { book, type StepReportJson } from "./qa-helpers.js";

const CHUNK_TOKENS = 64;

let dir = "";
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The chunks the qa step will cut from the books step's documents (same functions, same order), those the extractive rule finds a pair for as tasks. */
async function tasksOf(out: string): Promise<{ chunks: number; tasks: QaTask[] }> {
  const documentsDir = stepOutputDir(out, "books", "documents");
  const rule = new ExtractiveGenerator();
  const tasks: QaTask[] = [];
  let chunks = 0;
  for (const part of (await readDocumentsIndex(documentsDir)).parts) {
    for await (const doc of readDocumentsFile(join(documentsDir, part.file))) {
      const tokenStarts = charOffsetsOfBytes(doc.text, doc.tokenStarts);
      for (const chunk of chunkDocument({ documentId: doc.documentId, text: doc.text, tokenStarts }, CHUNK_TOKENS)) {
        chunks += 1;
        const g = await rule.generate(chunk, 1);
        const pairs = g.ok ? g.pairs.flatMap((p): QaPair[] => ("pair" in p ? [p.pair] : [])) : [];
        if (pairs.length === 1) tasks.push({ chunk: { id: chunk.id, text: chunk.text }, pairs });
      }
    }
  }
  return { chunks, tasks };
}

async function qaRecords(out: string): Promise<QaRecord[]> {
  const units = join(out, "work/qa/units");
  const records: QaRecord[] = [];
  for (const key of (await readdir(units)).sort()) {
    const text = await readFile(join(units, key, "qa.jsonl"), "utf8").catch(() => "");
    for (const line of text.split("\n").filter(Boolean)) records.push(QaRecord.parse(JSON.parse(line)));
  }
  return records;
}

const examplesDigest = async (out: string) => Object.fromEntries((await listFiles(stepOutputDir(out, "qa", "examples"))).map((f) => [f.path, f.sha256]));

describe("qa step, local generator", () => {
  it("a checkpoint trained here writes grounded QA through lwm run, the same bytes for the same seed", async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-qa-local-e2e-"));
    await writeFile(join(dir, "log.txt"), book(4, 1));
    const sampling = { mode: "top-p", temperature: 0.7, topP: 0.9, seed: 11, maxNewTokens: 160 };
    const recipe = {
      formatVersion: 1,
      name: "qa-local-e2e",
      sources: [
        { kind: "books", name: "books", paths: ["log.txt"] },
        { kind: "qa", name: "qa", from: ["books"], generator: { kind: "local", checkpoint: "checkpoint", sampling }, chunkTokens: CHUNK_TOKENS, qaPerChunk: 1 },
      ],
      stages: [{ name: "s1k", seqLen: 1024, ropeTheta: 1e6, mixture: { books: 1, qa: 1 } }],
    };
    const recipePath = await writeRecipe(dir, recipe);

    // no checkpoint yet: the run stops before the books step starts
    const early = join(dir, "early");
    const missing = await lwm(["run", recipePath, "--out", early]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/sources\[1\]\.generator\.checkpoint: no checkpoint at .*checkpoint/);
    expect(await readdir(early)).toEqual([]);

    // train on the chunks the step will cut (the books step's documents), one pair each
    const booksOnly = await lwm(["run", recipePath, "--out", early, "--steps", "books"]);
    expect(booksOnly.code, booksOnly.stderr).toBe(0);
    const { chunks, tasks } = await tasksOf(early);
    expect(tasks.length).toBeGreaterThanOrEqual(2);
    const trained = await trainTinyQaModel(await loadTokenizer(), tasks, join(dir, "checkpoint"));
    console.log(`tiny QA model: ${tasks.length} chunks, ${trained.steps} steps, loss ${trained.loss.toFixed(4)}, seqLen ${trained.seqLen}`);

    const runs: string[] = [];
    // a: the rest of the run after those books; b: books and qa from scratch
    for (const [out, steps] of [
      [early, []],
      [join(dir, "b"), ["--steps", "books,qa"]],
    ] as const) {
      const r = await lwm(["run", recipePath, "--out", out, ...steps, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const qa = (JSON.parse(r.stdout) as StepReportJson[]).find((x) => x.step === "qa") as StepReportJson;
      expect(qa.details?.sources?.qa?.counters).toMatchObject({ chunks });
      if (out === early) expect((await lwm(["validate", join(out, "s1k")])).code).toBe(0);
      runs.push(out);
    }
    const [a, b] = runs as [string, string];

    // what it wrote is what it learned: the rule's pairs, from the checkpoint, grounded and accepted
    const records = await qaRecords(a);
    const learned = new Map(tasks.map((t) => [t.chunk.id, t.pairs[0] as QaPair]));
    expect(records.length).toBeGreaterThanOrEqual(Math.ceil(tasks.length / 2));
    for (const r of records) {
      expect({ question: r.question, answer: r.answer, evidence: r.evidence }).toEqual(learned.get(r.chunkId));
      expect(r.generator).toEqual({ kind: "local", model: "checkpoint", baseUrl: null, promptVersion: "lwm-qa-prompt/1", sampling });
    }
    // deterministic for the seed: a second run from scratch gives the same records and examples
    expect(await qaRecords(b)).toEqual(records);
    expect(await examplesDigest(b)).toEqual(await examplesDigest(a));
  }, 600_000);
});
