import { describe, expect, it } from "vitest";
import { ExampleRecord, formatZodError, LLAMA2_LWM_VOCAB, NeedleEvalRecord, Provenance, Recipe, tokenDtypeFor, type RecipeInput } from "./index.js";

const SHA = "a".repeat(64);

function recipe(overrides: Partial<RecipeInput> = {}): RecipeInput {
  return {
    formatVersion: 1,
    name: "sample",
    sources: [{ kind: "books", name: "pg19", paths: ["books/"] }],
    stages: [{ name: "32k", seqLen: 32768, ropeTheta: 1e6, mixture: { pg19: 1 } }],
    ...overrides,
  };
}

/** The message a user sees for `value`, or null when it parses. */
function problems(
  schema: { safeParse(v: unknown): { success: true } | { success: false; error: Parameters<typeof formatZodError>[0] } },
  value: unknown,
): string | null {
  const r = schema.safeParse(value);
  return r.success ? null : formatZodError(r.error, "recipe.json");
}

describe("Recipe", () => {
  it("fills the documented defaults of a minimal recipe", () => {
    const r = Recipe.parse(recipe());
    expect(r.sources[0]).toMatchObject({ format: "auto", textField: "text" });
    expect(r.steps.books).toMatchObject({ stripGutenberg: true, dedup: true, minChars: 1 });
    expect(r.steps.pack).toEqual({ rowsPerBatch: 0, rowsPerShard: 4096, seed: 0 });
    expect(r.stages[0]).toMatchObject({ kind: "text", minTokens: 0 });
  });

  it("names the field of every cross-field problem", () => {
    const bad = recipe({
      sources: [
        { kind: "books", name: "pg19", paths: ["a"] },
        { kind: "books", name: "pg19", paths: ["b"] },
      ],
      stages: [
        { name: "s", seqLen: 1024, ropeTheta: 1e4, mixture: { web: 1 } },
        { name: "s", seqLen: 2048, ropeTheta: 1e4, mixture: { pg19: 1 }, minTokens: 10, maxTokens: 5 },
      ],
    });
    const message = problems(Recipe, bad);
    expect(message).toMatch(/^recipe\.json: /);
    expect(
      message
        ?.replace(/^recipe\.json: /, "")
        .split("\n  ")
        .sort(),
    ).toEqual(
      [
        'sources[1].name: duplicate source name "pg19"',
        'stages[0].mixture.web: unknown source "web"',
        'stages[1].name: duplicate stage name "s"',
        "stages[1].maxTokens: maxTokens must be >= minTokens",
      ].sort(),
    );
  });

  it("asks a stage's training section for steps or tokens", () => {
    const training = { tokensPerBatch: 65536, lr: { peak: 1e-4 } };
    expect(problems(Recipe, recipe({ stages: [{ name: "s", seqLen: 1024, ropeTheta: 1e4, mixture: { pg19: 1 }, training }] }))).toBe(
      "recipe.json: stages[0].training.steps: give steps or tokens",
    );
    const ok = Recipe.parse(recipe({ stages: [{ name: "s", seqLen: 1024, ropeTheta: 1e4, mixture: { pg19: 1 }, training: { ...training, tokens: 1e6 } }] }));
    expect(ok.stages[0]!.training).toMatchObject({ tokens: 1e6, evalFraction: 0.05, checkpointEvery: 50, betas: [0.9, 0.95] });
  });

  it("rejects stage names that cannot name a folder", () => {
    expect(problems(Recipe, recipe({ stages: [{ name: "../x", seqLen: 1024, ropeTheta: 1e4, mixture: { pg19: 1 } }] }))).toMatch(
      /^recipe\.json: stages\[0\]\.name: stage names are lowercase/,
    );
    expect(problems(Recipe, recipe({ stages: [{ name: "work", seqLen: 1024, ropeTheta: 1e4, mixture: { pg19: 1 } }] }))).toMatch(
      /^recipe\.json: stages\[0\]\.name: a stage cannot be named work or runs/,
    );
  });
});

describe("Recipe: strict keys and bounds", () => {
  it("names every unknown key and the nearest known one, at every level", () => {
    const bad = {
      ...recipe(),
      stagse: [],
      sources: [{ kind: "books", name: "pg19", paths: ["a"], textFeild: "body" }],
      steps: { books: { minchars: 3, stripGutenbergg: false }, pack: { rowsPerShrad: 8 } },
      stages: [
        {
          name: "s",
          seqLen: 1024,
          ropeTheta: 1e4,
          mixture: { pg19: 1 },
          maxToken: 5,
          training: { steps: 1, tokensPerBatch: 1024, lr: { peak: 1, warmup: 2 } },
        },
      ],
    };
    expect(
      problems(Recipe, bad)
        ?.replace(/^recipe\.json: /, "")
        .split("\n  ")
        .sort(),
    ).toEqual(
      [
        '(root): unknown key "stagse" (did you mean "stages"?)',
        'sources[0]: unknown key "textFeild" (did you mean "textField"?)',
        'stages[0]: unknown key "maxToken" (did you mean "maxTokens"?)',
        'stages[0].training.lr: unknown key "warmup" (did you mean "warmupSteps"?)',
        'steps.books: unknown key "minchars" (did you mean "minChars"?); unknown key "stripGutenbergg" (did you mean "stripGutenberg"?)',
        'steps.pack: unknown key "rowsPerShrad" (did you mean "rowsPerShard"?)',
      ].sort(),
    );
  });

  it("accepts $schema at the root, and checks bounds at the border naming the field", () => {
    expect(Recipe.safeParse({ $schema: "../../schemas/json/recipe.schema.json", ...recipe() }).success).toBe(true);
    const message = problems(
      Recipe,
      recipe({ stages: [{ name: "s", seqLen: 1e10, ropeTheta: 1, mixture: {} }], steps: { books: { maxDocumentBytes: 2 ** 40 } } }),
    );
    expect(message).toContain("stages[0].seqLen: Too big: expected number to be <=4194304");
    expect(message).toContain("stages[0].mixture: a stage's mixture names at least one source");
    expect(message).toContain("steps.books.maxDocumentBytes: Too big: expected number to be <=268435456");
  });
});

describe("tokenDtypeFor", () => {
  it("stores tokens as uint16 while every id of both tables fits, uint32 beyond", () => {
    expect(tokenDtypeFor(LLAMA2_LWM_VOCAB)).toBe("uint16");
    expect(tokenDtypeFor({ ...LLAMA2_LWM_VOCAB, textVocabSize: 65536 })).toBe("uint16");
    expect(tokenDtypeFor({ ...LLAMA2_LWM_VOCAB, textVocabSize: 65537 })).toBe("uint32");
    expect(tokenDtypeFor({ ...LLAMA2_LWM_VOCAB, textVocabSize: 128256 })).toBe("uint32");
  });
});

describe("ExampleRecord", () => {
  const base = {
    exampleId: "0".repeat(32),
    task: "text",
    tokens: Uint16Array.of(1, 450, 2),
    vision: new Uint8Array(3),
    loss: Uint8Array.of(0, 1, 1),
    provenance: { kind: "synthetic", generator: "test", seed: 0, index: 0 },
  };

  it("accepts a well-formed example and names every inconsistent flag array", () => {
    expect(ExampleRecord.safeParse(base).success).toBe(true);
    expect(problems(ExampleRecord, { ...base, vision: new Uint8Array(2), loss: Uint8Array.of(1, 1, 1) })?.split("\n  ")).toEqual([
      "recipe.json: vision: length 2 != tokens 3",
      "loss[0]: the first token of an example cannot carry loss",
    ]);
  });
});

describe("Provenance", () => {
  it("checks byte and token ranges are [start, end) with end >= start", () => {
    const p = { kind: "text-file", file: "a.txt", fileSha256: SHA, bytes: { start: 0, end: 10 }, tokens: { start: 5, end: 5 } };
    expect(Provenance.safeParse(p).success).toBe(true);
    expect(problems(Provenance, { ...p, bytes: { start: 10, end: 9 } })).toBe("recipe.json: bytes.end: end must be >= start");
    expect(problems(Provenance, { ...p, kind: "jsonl" })).toMatch(/^recipe\.json: line: /);
  });
});

describe("NeedleEvalRecord", () => {
  it("rejects more correct trials than trials", () => {
    const r = { formatVersion: 1, checkpoint: "c", contextTokens: 1000, depth: 0.5, needles: 1, trials: 3, correct: 3, accuracy: 1 };
    expect(NeedleEvalRecord.safeParse(r).success).toBe(true);
    expect(problems(NeedleEvalRecord, { ...r, correct: 4 })).toBe("recipe.json: correct: correct cannot exceed trials");
  });
});
