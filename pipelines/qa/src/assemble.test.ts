import { describe, expect, it } from "vitest";
import { exampleIdOf } from "@lwm/core";
import { ExtractiveGenerator, judgeGeneration } from "@lwm/qa";
import type { QaRecord } from "@lwm/schemas";
import { loadTokenizer } from "@lwm/tokenizer";
import { assembleDocument, type ContextChunk } from "./assemble.js";
import { bookChapters } from "./test-helpers/seafaring-book.js";

// Twelve chapters, each its own paragraph (a blank line after it).
const PARAGRAPHS = bookChapters(0, 12).map((c) => `${c}\n`);

describe("assembleDocument", async () => {
  const tokenizer = await loadTokenizer();
  const generator = new ExtractiveGenerator();
  const ids = await tokenizer.encodeBatch(PARAGRAPHS);
  const chunks: ContextChunk[] = [];
  let at = 0;
  PARAGRAPHS.forEach((text, i) => {
    const n = (ids[i] as Uint32Array).length;
    chunks.push({ id: exampleIdOf("qa-chunk", "doc", at, at + n), tokens: { start: at, end: at + n }, text });
    at += n;
  });
  const tokens = new Uint32Array(at);
  ids.forEach((t, i) => tokens.set(t, (chunks[i] as ContextChunk).tokens.start));
  const qa: QaRecord[] = [];
  const seen = new Map<string, string>();
  for (const chunk of chunks) {
    const judged = judgeGeneration(generator.identity, chunk, 2, await generator.generate(chunk, 2), seen);
    qa.push(...judged.accepted.map((r) => ({ ...r, documentId: "doc" })));
  }
  const options = { seqLen: 512, questionsPerExample: 2, seed: 1, bosId: tokenizer.bosId, eosId: tokenizer.eosId, encode: (t: string) => tokenizer.encode(t) };

  it("lays out BOS, template, adjacent chunks and chat QA within seqLen, with loss on the answers and EOS only", async () => {
    expect(qa.length).toBeGreaterThan(12);
    const { examples, rejects } = await assembleDocument({ documentId: "doc", file: "book.txt", tokens, chunks, qa }, options);
    expect(examples.length).toBeGreaterThan(2);
    const covered: string[] = [];
    for (const e of examples) {
      expect(e.tokens.length).toBeLessThanOrEqual(512);
      expect(e.tokens[0]).toBe(tokenizer.bosId);
      expect(e.tokens[e.tokens.length - 1]).toBe(tokenizer.eosId);
      expect(e.loss[0]).toBe(0);
      expect(e.loss[e.tokens.length - 1]).toBe(1);
      const p = e.provenance;
      covered.push(...p.chunkIds);
      expect(p.qaIds).toHaveLength(2);
      const asked = p.qaIds.map((id) => qa.find((r) => r.qaId === id)!);
      for (const r of asked) expect(p.chunkIds).toContain(r.chunkId);
      // the context is the document's own tokens
      const prefix = await tokenizer.encode("You are a helpful assistant. USER:");
      const context = Array.from(e.tokens.subarray(1 + prefix.length, 1 + prefix.length + (p.tokens!.end - p.tokens!.start)));
      expect(context).toEqual(Array.from(tokens.subarray(p.tokens!.start, p.tokens!.end)));
      // loss marks exactly the answers (then EOS)
      const lossIds = Array.from(e.tokens).filter((_, i) => e.loss[i] === 1);
      const answers = [...(await Promise.all(asked.map((r) => tokenizer.encode(r.answer)))).flatMap((a) => Array.from(a)), tokenizer.eosId];
      expect(lossIds).toEqual(answers);
      const text = await tokenizer.decode(e.tokens);
      expect(text).toMatch(/^You are a helpful assistant\. USER: Chapter /);
      expect(text).toContain(` ${asked[0]!.question} ASSISTANT: ${asked[0]!.answer} USER: ${asked[1]!.question} ASSISTANT: ${asked[1]!.answer}`);
      expect(text.endsWith(asked[1]!.answer)).toBe(true);
    }
    expect(covered).toEqual(chunks.map((c) => c.id).slice(0, covered.length));
    // the fixture's chapters share sentence shapes: the only rejects are questions that another chapter's sentence also fits
    for (const r of rejects) expect(r.reason).toMatch(/^ambiguous: /);
    expect(rejects.length).toBeLessThan(qa.length / 3);
    // deterministic
    expect(await assembleDocument({ documentId: "doc", file: "book.txt", tokens, chunks, qa }, options)).toEqual({ examples, rejects });
  });

  it("leaves out a question that the long context answers differently elsewhere (ambiguous)", async () => {
    const target = qa[0]!;
    // a later chunk repeats the evidence sentence with another answer in the blank
    const twin = target.evidence.replace(target.answer, "Someone Else");
    const planted = chunks.map((c, i) => (i === 1 ? { ...c, text: `${c.text}${twin} ` } : c));
    const { examples, rejects } = await assembleDocument({ documentId: "doc", tokens, chunks: planted, qa }, options);
    expect(rejects).toContainEqual({
      qaId: target.qaId,
      chunkId: target.chunkId,
      reason: expect.stringMatching(/^ambiguous: another sentence of the long context matches the question without its answer: .*Someone Else/),
    });
    for (const e of examples) expect(e.provenance.qaIds).not.toContain(target.qaId);
  });
});
