import { describe, expect, it } from "vitest";
import { Recipe } from "@lwm/schemas";
import { parseCsv } from "./csv.js";
import { exampleLength, framesThatFit, layOutExample, type ExampleParts } from "./layout.js";
import { drawTask } from "./tasks.js";

const TPF = 4; // a short frame keeps the expected arrays readable; the step uses 256
const parts = (frames: number): ExampleParts => ({
  bosId: 1,
  eosId: 2,
  eofId: 8192,
  eovId: 8193,
  tokensPerFrame: TPF,
  open: Uint32Array.from([529, 4924, 29958]),
  close: Uint32Array.from([1533, 4924, 29958]),
  caption: Uint32Array.from([100, 101]),
  codes: Uint16Array.from({ length: frames * TPF }, (_, k) => 10 + k),
});

describe("LWM vision-text layout (lwm-spec §1.4–1.5)", () => {
  it("video→text: BOS <vision> f1 <eof> f2 <eov> </vision> caption EOS; vision on codes and delimiters; loss on caption and EOS", () => {
    const e = layOutExample("video-text", parts(2));
    expect(Array.from(e.tokens)).toEqual([1, 529, 4924, 29958, 10, 11, 12, 13, 8192, 14, 15, 16, 17, 8193, 1533, 4924, 29958, 100, 101, 2]);
    expect(Array.from(e.vision)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(e.loss)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it("text→video: BOS caption <vision> … </vision> EOS; loss on the whole block, its tags included, and EOS", () => {
    const e = layOutExample("text-video", parts(2));
    expect(Array.from(e.tokens)).toEqual([1, 100, 101, 529, 4924, 29958, 10, 11, 12, 13, 8192, 14, 15, 16, 17, 8193, 1533, 4924, 29958, 2]);
    expect(Array.from(e.vision)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(e.loss)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("an image is one frame closed by <eov> alone (image→text and text→image)", () => {
    const i2t = layOutExample("image-text", parts(1));
    expect(Array.from(i2t.tokens)).toEqual([1, 529, 4924, 29958, 10, 11, 12, 13, 8193, 1533, 4924, 29958, 100, 101, 2]);
    expect(i2t.tokens.includes(8192)).toBe(false);
    const t2i = layOutExample("text-image", parts(1));
    expect(Array.from(t2i.tokens)).toEqual([1, 100, 101, 529, 4924, 29958, 10, 11, 12, 13, 8193, 1533, 4924, 29958, 2]);
    expect(Array.from(t2i.loss)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("frames are capped so the example fits seqLen: 257 tokens per frame of 256 codes", () => {
    const p = { open: Uint32Array.of(1, 2, 3), close: Uint32Array.of(4, 5, 6), tokensPerFrame: 256 };
    // BOS + EOS + 6 tag pieces + 20 caption ids = 28; (2048 − 28) / 257 = 7.86 → 7 frames.
    expect(framesThatFit(2048, 20, p)).toBe(7);
    expect(exampleLength(7, 20, p)).toBeLessThanOrEqual(2048);
    expect(exampleLength(8, 20, p)).toBeGreaterThan(2048);
    expect(framesThatFit(200, 20, p)).toBe(0);
  });
});

describe("task draw and recipe", () => {
  it("draws tasks by the source's shares, from the row alone", () => {
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "t",
      vqgan: "m",
      sources: [{ kind: "video-text", name: "v", corpus: "c.jsonl", tasks: { "video-text": 3, "text-video": 1 } }],
      stages: [{ name: "s", kind: "vision-language", seqLen: 2048, ropeTheta: 1, mixture: { v: 1 } }],
    });
    const source = recipe.sources[0] as Extract<(typeof recipe.sources)[number], { kind: "video-text" }>;
    const draws = Array.from({ length: 4000 }, (_, row) => drawTask(source, row));
    const share = draws.filter((t) => t === "video-text").length / draws.length;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
    expect(drawTask(source, 17)).toBe(draws[17]);
  });

  it("refuses a misspelt key with a suggestion, a vision source without a model, and a vision source in a text stage", () => {
    const base = {
      formatVersion: 1,
      name: "t",
      vqgan: "m",
      sources: [{ kind: "image-text", name: "i", corpus: "c.csv", minSdie: 256 }],
      stages: [{ name: "s", kind: "vision-language", seqLen: 2048, ropeTheta: 1, mixture: { i: 1 } }],
    };
    expect(JSON.stringify(Recipe.safeParse(base).error?.issues)).toMatch(/unknown key \\"minSdie\\" \(did you mean \\"minSide\\"\?\)/);
    const noModel = { ...base, vqgan: undefined, sources: [{ kind: "image-text", name: "i", corpus: "c.csv" }] };
    expect(Recipe.safeParse(noModel).error?.issues[0]?.path).toEqual(["vqgan"]);
    const textStage = { ...base, sources: [{ kind: "image-text", name: "i", corpus: "c.csv" }], stages: [{ ...base.stages[0], kind: "text" }] };
    expect(Recipe.safeParse(textStage).error?.issues[0]?.message).toMatch(/a text stage cannot mix it in/);
  });
});

describe("CSV", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, CRLF, and a BOM", () => {
    const t = parseCsv('\uFEFFimage,caption\r\na.png,"one, two"\r\nb.png,"say ""hi""\nthere"\r\n\r\n');
    expect(t.header).toEqual(["image", "caption"]);
    expect(t.rows).toEqual([
      ["a.png", "one, two"],
      ["b.png", 'say "hi"\nthere'],
    ]);
    expect(() => parseCsv('a,b\n"x,1\n')).toThrow(/not closed/);
  });
});
