/**
 * The qa step's optional judge (`judge: true` on a qa source), through the real CLI against a real
 * chat-completions server on loopback (started here). The server plays both roles: as generator
 * it writes grounded pairs (the extractive rule behind HTTP); as judge it accepts most pairs,
 * finds one chunk's answers unsupported, another's off the question, and answers a third's with
 * prose instead of the asked JSON. Every asked pair must end accepted (with the judge's verdict in
 * its record) or rejected with the judge's reason; the run goes on past the malformed replies.
 * Turning the judge off and on again changes the generator identity (the units regenerate, the
 * answers come from the request cache); an extractive source with a judge stops before any work.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExtractiveGenerator, JUDGE_PROMPT_VERSION, JUDGE_SYSTEM_PROMPT, SYSTEM_PROMPT } from "@lwm/qa";
import { QaRecord } from "@lwm/schemas";
import { ChatServer, completion, errorReply, judgedPairOf, pairsReply } from "../packages/qa/src/test-helpers/chat-server.js";
import { writeRecipe } from "./books-helpers.js";
import { lwm } from "./cli.js";
import { book, type StepReportJson as Report } from "./qa-helpers.js";

let dir = "";
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function qaRecords(out: string): Promise<QaRecord[]> {
  const units = join(out, "work/qa/units");
  const records: QaRecord[] = [];
  for (const key of await readdir(units)) {
    const text = await readFile(join(units, key, "qa.jsonl"), "utf8").catch(() => "");
    for (const line of text.split("\n").filter(Boolean)) records.push(QaRecord.parse(JSON.parse(line)));
  }
  return records;
}

/** What the scripted judge does with the pairs of a passage, by the year it tells of (book(5, …) has 1855, 1856 …). */
const judgeRole = (passage: string): "unsupported" | "off-question" | "malformed" | "accept" =>
  passage.includes("spring of 1856")
    ? "unsupported"
    : passage.includes("spring of 1859")
      ? "off-question"
      : passage.includes("spring of 1862")
        ? "malformed"
        : "accept";

describe("qa step, judge", () => {
  it("rejects the pairs its judge does not accept (with the judge's reason), records the verdict of the rest, and goes on past malformed verdicts", async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-qa-judge-"));
    await writeFile(join(dir, "log.txt"), book(5, 10));
    const rule = new ExtractiveGenerator();
    const server = await ChatServer.start(async (req) => {
      const system = req.body.messages.find((m) => m.role === "system")?.content;
      const judged = judgedPairOf(req.body.messages);
      if (system === JUDGE_SYSTEM_PROMPT && judged !== null) {
        switch (judgeRole(req.passage)) {
          case "unsupported":
            return completion(JSON.stringify({ supported: false, answersQuestion: true, reason: "the passage never says so" }));
          case "off-question":
            return completion(JSON.stringify({ supported: true, answersQuestion: false, reason: "it answers a different question" }));
          case "malformed":
            return completion("Yes, I think that answer is fine.");
          case "accept":
            return completion(JSON.stringify({ supported: true, answersQuestion: true, reason: `the passage states ${judged.answer}` }));
        }
      }
      if (system !== SYSTEM_PROMPT) return errorReply(400, "neither the generator's nor the judge's prompt");
      const g = await rule.generate({ id: req.passage.slice(0, 40), text: req.passage }, 1);
      return pairsReply(g.ok ? g.pairs.flatMap((p) => ("pair" in p ? [p.pair] : [])) : []);
    });
    try {
      const qaSource = (judge: boolean, generator: unknown) => ({ kind: "qa", name: "qa", from: ["books"], generator, chunkTokens: 128, qaPerChunk: 1, judge });
      const recipeWith = (judge: boolean, generator: unknown = { kind: "openai", baseUrl: server.url, model: "rule-and-judge", concurrency: 4 }) => ({
        formatVersion: 1,
        name: "qa-judge-e2e",
        sources: [{ kind: "books", name: "books", paths: ["log.txt"] }, qaSource(judge, generator)],
        stages: [{ name: "s2k", seqLen: 2048, ropeTheta: 1e6, mixture: { books: 1, qa: 1 } }],
      });
      const judged = await writeRecipe(dir, recipeWith(true));
      const out = join(dir, "out");

      // a judge needs a model: with the extractive generator the run stops before any step
      const extractive = join(dir, "extractive.json");
      await writeFile(extractive, JSON.stringify(recipeWith(true, { kind: "extractive" })));
      const refused = await lwm(["run", extractive, "--out", join(dir, "early")]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/sources\[1\]\.judge: the extractive generator has no model to judge with/);
      expect(await readdir(join(dir, "early"))).toEqual([]);

      const r = await lwm(["run", judged, "--out", out, "--steps", "books,qa", "--json"], {});
      expect(r.code, r.stderr).toBe(0);
      const qa = (JSON.parse(r.stdout) as Report[]).find((x) => x.step === "qa") as Report;
      const generation = server.requests.filter((q) => judgedPairOf(q.body.messages) === null);
      const judging = server.requests.filter((q) => judgedPairOf(q.body.messages) !== null);
      // every grounded pair went to the judge, once, with its chunk as the delimited data block
      expect(judging.length).toBeGreaterThanOrEqual(6);
      for (const q of judging) {
        expect(generation.map((g) => g.passage)).toContain(q.passage);
        expect(q.body.messages.find((m) => m.role === "user")?.content).toMatch(/<<<PASSAGE ([0-9a-f]{12})>>>\n[\s\S]+\n<<<END PASSAGE \1>>>$/);
      }
      expect(new Set(judging.map((q) => `${q.passage}|${judgedPairOf(q.body.messages)?.question}`)).size).toBe(judging.length);
      expect(qa.details?.sources?.qa?.counters).toMatchObject({ requests: server.requests.length, judgeRequests: judging.length, cacheHits: 0 });

      // each role's pairs were rejected with the judge's reason; the rest were accepted with its verdict
      const expectedRejects = { unsupported: 0, "off-question": 0, malformed: 0 };
      for (const q of judging) {
        const role = judgeRole(q.passage);
        if (role !== "accept") expectedRejects[role] += 1;
      }
      expect(Object.values(expectedRejects).every((n) => n > 0)).toBe(true);
      expect(qa.rejects.byReason).toMatchObject({
        "judge unsupported": expectedRejects.unsupported,
        "judge off-question": expectedRejects["off-question"],
        "judge malformed": expectedRejects.malformed,
      });
      const { pairsAsked, pairsAccepted, pairsRejected } = qa.metrics.total as Record<string, number>;
      expect(pairsAsked).toBe(pairsAccepted! + pairsRejected!);
      const records = await qaRecords(out);
      expect(records.length).toBe(pairsAccepted);
      expect(records.length).toBe(judging.length - expectedRejects.unsupported - expectedRejects["off-question"] - expectedRejects.malformed);
      for (const rec of records) {
        expect(rec.generator).toMatchObject({ kind: "openai", model: "rule-and-judge", judge: JUDGE_PROMPT_VERSION });
        expect(rec.verdict).toEqual({ supported: true, answersQuestion: true, reason: `the passage states ${rec.answer}` });
      }
      const rejectLines = (await readFile(join(out, "work/qa/rejects.jsonl"), "utf8")).split("\n").filter(Boolean);
      expect(
        rejectLines.some((l) => l.includes('judge unsupported: the judge found the answer not stated in the passage: \\"the passage never says so\\"')),
      ).toBe(true);
      expect(rejectLines.some((l) => /judge malformed: the reply is not JSON .*\[source qa, document [0-9a-f]+, chunk [0-9a-f]+/.test(l))).toBe(true);

      // the judge is part of the generator identity: off regenerates (answers from the cache, no judge) …
      const sent = server.requests.length;
      const plain = join(dir, "plain.json");
      await writeFile(plain, JSON.stringify(recipeWith(false)));
      const off = await lwm(["run", plain, "--out", out, "--steps", "qa", "--json"], {});
      expect(off.code, off.stderr).toBe(0);
      const offReport = (JSON.parse(off.stdout) as Report[])[0] as Report;
      expect(offReport.metrics.executed.chunks).toBe(generation.length); // the generate unit ran again
      expect(server.requests.length).toBe(sent); // every generation request came from the cache
      expect(offReport.details?.sources?.qa?.counters).toMatchObject({ requests: 0, judgeRequests: 0 });
      expect(Object.keys(offReport.rejects.byReason).filter((k) => k.startsWith("judge"))).toEqual([]);
      // … and on again finds its units done
      const on = await lwm(["run", judged, "--out", out, "--steps", "qa", "--json"], {});
      expect(on.code, on.stderr).toBe(0);
      expect((JSON.parse(on.stdout) as Report[])[0]?.units.executed).toBe(0);
      expect(server.requests.length).toBe(sent);
    } finally {
      await server.close();
    }
  }, 300_000);
});
