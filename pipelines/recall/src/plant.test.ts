import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { poolOfCity, poolOfNumber, sentenceEndIds, TRAIN_CITIES } from "@lwm/trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { recallExamples, type RecallOptions } from "./plant.js";

let tok: Tokenizer;
let ends: Set<number>;
let doc: Uint32Array;

beforeAll(async () => {
  tok = await loadTokenizer();
  ends = sentenceEndIds(tok);
  doc = await tok.encode(Array.from({ length: 400 }, (_, i) => `On day ${i} the ferry left the harbour late, and the gulls followed it out.`).join(" "));
});

const options = (o: Partial<RecallOptions> = {}): RecallOptions => ({
  seqLen: 512,
  maxFacts: 3,
  keys: "cities",
  lengthFraction: [0.25, 1],
  passes: 1,
  seed: 0,
  stage: "s",
  eosId: 2,
  sentenceEnds: ends,
  ...o,
});

describe("recallExamples", () => {
  it("plants training-pool facts in consecutive spans, asks for some of them, and puts the loss on the answer only", async () => {
    const examples = await recallExamples(tok, { documentId: "d".repeat(32), tokens: doc }, options());
    expect(examples.length).toBeGreaterThan(10);
    let at = 0;
    const lengths = new Set<number>();
    for (const e of examples) {
      expect(e.tokens.length).toBeLessThanOrEqual(512);
      lengths.add(e.tokens.length);
      expect(e.provenance.tokens.start).toBe(at); // spans tile the document
      at = e.provenance.tokens.end;
      const lossAt = e.loss.indexOf(1);
      expect(e.loss.subarray(lossAt).every((l) => l === 1)).toBe(true);
      expect(e.tokens[e.tokens.length - 1]).toBe(2);
      const prompt = await tok.decode(e.tokens.subarray(0, lossAt));
      const answer = await tok.decode(e.tokens.subarray(lossAt, e.tokens.length - 1));
      const asked = e.provenance.asked.map((i) => e.provenance.facts[i]!);
      const numbers = asked.map((f) => f.number);
      expect(answer.trim()).toBe(
        asked.length === 1
          ? `The secret code is ${numbers[0]}.`
          : `The secret codes are ${numbers.slice(0, -1).join(", ")}${asked.length > 2 ? "," : ""} and ${numbers.at(-1)}.`,
      );
      expect(prompt.trimEnd().endsWith("ASSISTANT:")).toBe(true);
      expect(prompt).not.toMatch(/special magic/);
      for (const f of e.provenance.facts) {
        expect(prompt).toContain(`the secret code of ${f.city} is ${f.number}.`);
        expect(poolOfCity(f.city)).toBe("train");
        expect(poolOfNumber(Number(f.number))).toBe("train");
      }
      for (const f of asked) expect(prompt).toContain(f.city);
    }
    expect(at).toBeGreaterThan(doc.length - 600); // only a short tail is left out
    expect(lengths.size).toBeGreaterThan(5); // lengths vary over the range
  });

  it("is a pure function of seed, stage and pass; other seeds and passes plant other facts", async () => {
    const d = { documentId: "e".repeat(32), tokens: doc.subarray(0, 3000) };
    const a = await recallExamples(tok, d, options());
    expect((await recallExamples(tok, d, options())).map((e) => e.exampleId)).toEqual(a.map((e) => e.exampleId));
    const b = await recallExamples(tok, d, options({ seed: 1 }));
    expect(b[0]!.provenance.facts).not.toEqual(a[0]!.provenance.facts);
    const two = await recallExamples(tok, d, options({ passes: 2 }));
    expect(two.length).toBeGreaterThan(a.length);
    expect(new Set(two.map((e) => e.exampleId)).size).toBe(two.length);
  });

  it("keys: names plants synthetic training names, many distinct ones, never a training city", async () => {
    const examples = await recallExamples(tok, { documentId: "f".repeat(32), tokens: doc }, options({ keys: "names" }));
    const keys = examples.flatMap((e) => e.provenance.facts.map((f) => f.city));
    for (const k of keys) expect(poolOfCity(k), k).toBe("train");
    expect(keys.some((k) => TRAIN_CITIES.includes(k))).toBe(false);
    expect(new Set(keys).size).toBeGreaterThan(0.9 * keys.length);
  });

  it("haystackTokens sets the book text around the facts, whatever the seqLen", async () => {
    const examples = await recallExamples(tok, { documentId: "g".repeat(32), tokens: doc.subarray(0, 4000) }, options({ haystackTokens: [40, 60] }));
    const spans = examples.map((e) => e.provenance.tokens.end - e.provenance.tokens.start);
    expect(spans.length).toBeGreaterThan(40);
    // Every span but the document's tail is drawn from [40, 60].
    for (const n of spans.slice(0, -1)) expect(n >= 40 && n <= 60, `${n}`).toBe(true);
    expect(new Set(spans).size).toBeGreaterThan(10);
  });
});
