/**
 * The examples contract from pack's side: a producing step that is not books (a small test-only
 * step, as a vision or QA step would be) publishes examples with vision blocks and loss on the
 * answer only; pack turns them into shards that `validate` accepts, with every segment's tokens and
 * flags exactly as the producer wrote them.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleIdOf, runStep, silentLogger, stepOutputDir, unitKey, type JsonValue, type Step } from "@lwm/core";
import { EXAMPLES_FORMAT, Recipe, type ExamplesIndex, type SourcedExample } from "@lwm/schemas";
import { ExamplesWriter, partFileName, readManifest, ShardReader, validate, writeExamplesIndex } from "@lwm/shards";
import { loadRecipeTokenizer } from "@lwm/tokenizer";
import { packStep } from "./step.js";

const VQGAN = "b".repeat(64);
const FRAME = 256;

/** "<vision>"-ish text, k frames of codes (each ends in <eof>, the last in <eov>), a question, then the answer that carries the loss. */
function captionExample(i: number): SourcedExample {
  const frames = 1 + (i % 3);
  const prompt = [1, 529, 4924, 29958]; // BOS + text tag pieces: no loss
  const vision: number[] = [];
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < FRAME; k++) vision.push((i * 131 + f * 17 + k * 7) % 8192);
    vision.push(f === frames - 1 ? 8193 : 8192);
  }
  const question = [1724, 338, 445, 29973]; // no loss
  const answer = Array.from({ length: 5 + (i % 7) }, (_, k) => 300 + ((i * 13 + k) % 5000)).concat([2]); // loss, EOS included
  const tokens = Uint16Array.from([...prompt, ...vision, ...question, ...answer]);
  const flags = (v: number, parts: number[][]): number[] => parts.flatMap((p, n) => p.map(() => (n === v ? 1 : 0)));
  return {
    exampleId: exampleIdOf("test-captions", i),
    source: "captions",
    task: frames === 1 ? "image-text" : "video-text",
    documentId: null,
    tokens,
    vision: Uint8Array.from(flags(1, [prompt, vision, question, answer])),
    loss: Uint8Array.from(flags(3, [prompt, vision, question, answer])),
    provenance: { kind: "media", file: `images/${i}.png`, fileSha256: "c".repeat(64), frameTimestamps: [0] },
  };
}

const EXAMPLES = 40;

/** A test-only producing step: one unit writes the examples, finalize publishes them through the contract. */
const captionsStep: Step = {
  name: "captions",
  version: "0.0.1",
  description: "test-only producer of image-text examples",
  plan: async (ctx) => {
    const tokenizer = await loadRecipeTokenizer(ctx);
    return {
      inputs: [],
      units: [
        {
          key: unitKey({ step: "captions", version: "0.0.1", kind: "all", config: { examples: EXAMPLES }, inputs: [] }),
          label: "captions",
          execute: async (dir) => {
            const writer = new ExamplesWriter(join(dir, "examples.arrow"), { tokenDtype: "uint16", batchExamples: 8 });
            for (let i = 0; i < EXAMPLES; i++) writer.append(captionExample(i));
            const made = await writer.close();
            return { result: made as unknown as JsonValue };
          },
        },
      ],
      finalize: async (completed) => {
        const stage = ctx.recipe.stages[0]!;
        const dir = stepOutputDir(ctx.outDir, "captions", "examples", stage.name);
        await mkdir(dir, { recursive: true });
        await copyFile(join(completed[0]!.dir, "examples.arrow"), join(dir, partFileName(0)));
        const made = completed[0]!.record.result as unknown as Omit<ExamplesIndex["parts"][number], "file" | "source">;
        await writeExamplesIndex(dir, {
          format: EXAMPLES_FORMAT,
          step: "captions",
          stepVersion: "0.0.1",
          stage: stage.name,
          seqLen: stage.seqLen,
          tokenDtype: "uint16",
          tokenizerSha256: tokenizer.sha256,
          vqganSha256: VQGAN,
          sources: ["captions"],
          examples: made.examples,
          tokens: made.tokens,
          parts: [{ file: partFileName(0), source: "captions", ...made }],
        });
        return { outputs: [], details: null };
      },
    };
  },
};

describe("pack over a producer that is not books", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "lwm-producer-"));
  });
  afterAll(async () => rm(out, { recursive: true, force: true }));

  it("packs image and video caption examples into valid vision-language shards, flags and task exactly as written", async () => {
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "captions",
      // The recipe names the source; which step produces its examples is pack's business only through the contract.
      sources: [{ kind: "books", name: "captions", paths: ["unused"] }],
      stages: [{ name: "vl1k", kind: "vision-language", seqLen: 1024, ropeTheta: 5e7, mixture: { captions: 1 } }],
    });
    const options = { recipe, recipeDir: out, outDir: out, logger: silentLogger };
    expect((await runStep(captionsStep, options)).ok).toBe(true);
    expect((await runStep(packStep, options)).ok).toBe(true);

    const report = await validate(join(out, "vl1k"));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);

    const manifest = await readManifest(join(out, "vl1k", "manifest.json"));
    const byId = new Map(Array.from({ length: EXAMPLES }, (_, i) => captionExample(i)).map((e) => [e.exampleId, e]));
    const seen = new Set<string>();
    for (const shard of manifest.shards) {
      const reader = await ShardReader.open(join(out, "vl1k", shard.file));
      try {
        expect(reader.meta.vqganSha256).toBe(VQGAN);
        for (let r = 0; r < reader.numRows; r++) {
          const row = await reader.row(r);
          row.exampleIds.forEach((id, s) => {
            const e = byId.get(id);
            if (!e) throw new Error(`row ${r}: example ${id} was never written`);
            const [a, b] = [row.cuSeqlens[s]!, row.cuSeqlens[s + 1]!];
            expect(Array.from(row.tokens.subarray(a, b))).toEqual(Array.from(e.tokens));
            expect(Array.from(row.vision.subarray(a, b))).toEqual(Array.from(e.vision));
            expect(Array.from(row.loss.subarray(a, b))).toEqual(Array.from(e.loss));
            expect(row.weightVision[s]).toBe(0); // no loss on vision tokens: the answer alone is trained
            expect(row.weightText[s]).toBe(Math.fround(1 / e.loss.reduce((n, l) => n + l, 0)));
            expect(row.provenance[s]).toEqual(e.provenance);
            expect(row.tasks?.[s]).toBe(e.task);
            seen.add(id);
          });
        }
      } finally {
        await reader.close();
      }
    }
    expect(seen.size).toBe(EXAMPLES);
    const images = Array.from({ length: EXAMPLES }, (_, i) => captionExample(i)).filter((e) => e.task === "image-text").length;
    expect(manifest.formatVersion === 3 && manifest.totals.tasks).toEqual({ "image-text": images, "video-text": EXAMPLES - images });
  }, 60_000);
});
