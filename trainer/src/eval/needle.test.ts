import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { beforeAll, describe, expect, it } from "vitest";
import { drawNeedles } from "./facts.js";
import { buildNeedlePrompt, needleDepths, needleText, PROMPT_PREFIX, questionText, scoreAnswer } from "./needle.js";
import { sentenceEndIds } from "./needle-run.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const book = resolve(repoRoot, "../shared/data/books/pg84_frankenstein_en.txt");
const hasSharedData = existsSync(book);

let tok: Tokenizer;
let ends: Set<number>;
let haystack: Uint32Array;

const FILLER = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about the weather in a quiet town, and nothing else happens.`).join(" ");

beforeAll(async () => {
  tok = await loadTokenizer();
  ends = sentenceEndIds(tok);
  haystack = await tok.encode(FILLER);
});

describe("needles", () => {
  it("draws distinct cities and 7-digit numbers, reproducibly", () => {
    const a = drawNeedles(4, 3);
    expect(new Set(a.map((n) => n.city)).size).toBe(4);
    for (const n of a) expect(n.number).toMatch(/^[1-9]\d{6}$/);
    expect(drawNeedles(4, 3)).toEqual(a);
    expect(drawNeedles(4, 4)).not.toEqual(a);
  });

  it("writes LWM's needle and question sentences", () => {
    const [a, b, c] = [
      { city: "Oslo", number: "1234567" },
      { city: "Lima", number: "7654321" },
      { city: "Rome", number: "1111111" },
    ];
    expect(needleText(a)).toBe("\nThe special magic Oslo number is: 1234567\n");
    expect(questionText([a])).toBe("What is the special magic Oslo number?");
    expect(questionText([a, b])).toBe("What are the special magic numbers for Oslo and Lima?");
    expect(questionText([a, b, c])).toBe("What are the special magic numbers for Oslo, Lima, and Rome?");
  });

  it("scores by substring, per needle", () => {
    const needles = [
      { city: "Oslo", number: "1234567" },
      { city: "Lima", number: "7654321" },
    ];
    expect(scoreAnswer("The number is 1234567.", needles)).toEqual({ found: 1, correct: false });
    expect(scoreAnswer("1234567 and 7654321", needles)).toEqual({ found: 2, correct: true });
    expect(scoreAnswer("123456", needles.slice(0, 1))).toEqual({ found: 0, correct: false });
  });

  it("spreads extra needles after the first one's depth", () => {
    expect(needleDepths(0.5, 1)).toEqual([0.5]);
    expect(needleDepths(0.5, 2)).toEqual([0.5, 0]);
    expect(needleDepths(0, 4)).toEqual([0, 0.25, 0.5, 0.75]);
  });
});

describe("buildNeedlePrompt (Llama-2 tokenizer)", () => {
  it("finds sentence-end pieces in the vocabulary", () => {
    expect(ends.has(tok.idOf(".")!)).toBe(true);
    expect(ends.has(tok.idOf("▁the")!)).toBe(false);
  });

  it("lays out exactly contextTokens tokens: BOS, prefix, haystack with the needle after a sentence end, question", async () => {
    const needles = drawNeedles(1, 1);
    for (const depth of [0, 0.3, 0.5, 1]) {
      const p = await buildNeedlePrompt(tok, haystack, needles, depth, 400, ends);
      expect(p.tokens.length).toBe(400);
      expect(p.tokens[0]).toBe(tok.bosId);
      const text = await tok.decode(p.tokens);
      expect(text.startsWith(PROMPT_PREFIX.trim())).toBe(true);
      expect(text).toContain(`The special magic ${needles[0]!.city} number is: ${needles[0]!.number}`);
      expect(text.trimEnd().endsWith("ASSISTANT:")).toBe(true);
      const start = p.needleStarts[0]!;
      const prefixLen = (await tok.encode(PROMPT_PREFIX)).length + 1;
      const rel = (start - prefixLen) / p.haystackTokens;
      if (depth === 0) expect(start).toBe(prefixLen);
      else if (depth === 1) expect(start).toBe(prefixLen + p.haystackTokens);
      else {
        expect(ends.has(p.tokens[start - 1]!)).toBe(true); // right after a "."
        expect(rel).toBeLessThanOrEqual(depth + 1e-9);
        expect(rel).toBeGreaterThan(depth - 0.1); // the sentences are ~20 tokens
      }
    }
  });

  it("inserts several needles in depth order", async () => {
    const needles = drawNeedles(3, 2);
    const p = await buildNeedlePrompt(tok, haystack, needles, 0.5, 500, ends);
    const text = await tok.decode(p.tokens);
    for (const n of needles) expect(text).toContain(n.number);
    expect(text).toContain(questionText(needles));
    // Depths 0.5, 5/6 and 1/6: the third needle comes first in the prompt.
    expect(p.needleStarts[2]!).toBeLessThan(p.needleStarts[0]!);
    expect(p.needleStarts[0]!).toBeLessThan(p.needleStarts[1]!);
  });

  it("refuses a context that cannot hold the template, or a haystack that is too short", async () => {
    const needles = drawNeedles(1, 1);
    await expect(buildNeedlePrompt(tok, haystack, needles, 0.5, 20, ends)).rejects.toThrow(/shorter than the prompt template/);
    await expect(buildNeedlePrompt(tok, haystack, needles, 0.5, haystack.length + 200, ends)).rejects.toThrow(/the haystack has \d+ tokens/);
  });

  it.skipIf(!hasSharedData)("works on a real book haystack (../shared/data)", async () => {
    const text = readFileSync(book, "utf8").slice(0, 40_000);
    const hay = await tok.encode(text);
    const needles = drawNeedles(2, 9);
    const p = await buildNeedlePrompt(tok, hay, needles, 0.25, 2000, ends);
    expect(p.tokens.length).toBe(2000);
    const decoded = await tok.decode(p.tokens);
    for (const n of needles) expect(decoded).toContain(`The special magic ${n.city} number is: ${n.number}`);
  });
});
if (!hasSharedData) console.warn("skipped: ../shared/data not found");
