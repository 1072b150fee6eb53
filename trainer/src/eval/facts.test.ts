import { describe, expect, it } from "vitest";
import { drawFacts, drawNeedles, EVAL_CITIES, poolOfCity, poolOfNumber, syntheticName, TRAIN_CITIES } from "./facts.js";
import { uniformSampler } from "../model/rng.js";
import { LWM_NEEDLE, RECALL_FACT } from "./needle.js";

describe("fact pools: the needle evaluation and the training retrieval task share no value", () => {
  it("city lists are disjoint, and no city of one list contains one of the other", () => {
    expect(new Set(EVAL_CITIES).size).toBe(EVAL_CITIES.length);
    expect(new Set(TRAIN_CITIES).size).toBe(TRAIN_CITIES.length);
    for (const t of TRAIN_CITIES)
      for (const e of EVAL_CITIES) {
        expect(t.toLowerCase().includes(e.toLowerCase()), `${t} / ${e}`).toBe(false);
        expect(e.toLowerCase().includes(t.toLowerCase()), `${e} / ${t}`).toBe(false);
      }
    expect(poolOfCity("Chicago")).toBe("eval");
    expect(poolOfCity("Glasgow")).toBe("train");
    expect(poolOfCity("Atlantis")).toBe(null);
  });

  it("splits the 7-digit numbers about evenly, with no digit pattern (last digit, first digit) deciding the pool", () => {
    const byLast = new Map<string, number>();
    let evalCount = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const x = 1_000_000 + i * 45;
      if (poolOfNumber(x) === "eval") {
        evalCount += 1;
        byLast.set(String(x).slice(-1), (byLast.get(String(x).slice(-1)) ?? 0) + 1);
      }
    }
    expect(evalCount / n).toBeGreaterThan(0.48);
    expect(evalCount / n).toBeLessThan(0.52);
    for (const c of byLast.values()) expect(c / evalCount).toBeGreaterThan(0.15); // last digits 0 and 5 only (step 45), each ≈ half
  });

  it("draws facts only from their own pool, reproducibly", () => {
    for (let seed = 0; seed < 300; seed++) {
      for (const f of drawFacts(3, seed, "train")) {
        expect(poolOfCity(f.city)).toBe("train");
        expect(poolOfNumber(Number(f.number))).toBe("train");
        expect(f.number).toMatch(/^[1-9]\d{6}$/);
      }
      for (const f of drawNeedles(2, seed)) {
        expect(poolOfCity(f.city)).toBe("eval");
        expect(poolOfNumber(Number(f.number))).toBe("eval");
      }
    }
    expect(drawFacts(4, 7, "train")).toEqual(drawFacts(4, 7, "train"));
  });

  it("draws synthetic training names: many distinct ones, none sharing text with an evaluation city", () => {
    const u = uniformSampler(1);
    const names = new Set<string>();
    for (let i = 0; i < 20_000; i++) names.add(syntheticName(u));
    expect(names.size).toBeGreaterThan(10_000); // no small table a model could learn by heart
    expect([...names].filter((n) => !/^[A-Z][a-z]{3,}$/.test(n) || poolOfCity(n) !== "train")).toEqual([]);
    const lower = EVAL_CITIES.map((e) => e.toLowerCase());
    const overlapping = [...names].filter((n) => lower.some((e) => n.toLowerCase().includes(e) || e.includes(n.toLowerCase())));
    expect(overlapping).toEqual([]);
    for (let seed = 0; seed < 200; seed++) {
      const facts = drawFacts(4, seed, "train", "names");
      expect(new Set(facts.map((f) => f.city)).size).toBe(4);
      for (const f of facts) expect(poolOfNumber(Number(f.number))).toBe("train");
    }
    expect(() => drawFacts(1, 0, "eval", "names")).toThrow(/evaluation pool/);
    expect(poolOfCity("Oslo")).toBe("eval"); // an evaluation city stays evaluation, whatever the generator can spell
  });

  it("words the training facts differently from LWM's needle", () => {
    const f = { city: "Glasgow", number: "1234567" };
    const recall = RECALL_FACT.fact(f) + RECALL_FACT.suffix([f]) + RECALL_FACT.suffix([f, f]);
    expect(recall).not.toMatch(/special|magic|number/i);
    expect(LWM_NEEDLE.fact(f)).toMatch(/special magic/);
    expect(RECALL_FACT.answer([f])).toBe("The secret code is 1234567."); // the key is matched, never written
    expect(RECALL_FACT.answer([f, { city: "Porto", number: "7654321" }])).toBe("The secret codes are 1234567 and 7654321.");
    expect(RECALL_FACT.suffix([f]).endsWith("ASSISTANT:")).toBe(true);
  });
});
