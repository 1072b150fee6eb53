import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleIdOf, stepOutputDir } from "@lwm/core";
import { DOCUMENTS_FORMAT, EXAMPLES_FORMAT, type DocumentRecord, type ExamplesIndex, type SourcedExample } from "@lwm/schemas";
import {
  DocumentsWriter,
  ExamplesWriter,
  findStageExamples,
  partFileName,
  readDocuments,
  readExamplesFile,
  readStageExamples,
  writeDocumentsIndex,
  writeExamplesIndex,
} from "./index.js";

const SHA = "a".repeat(64);

/** An image→text example: a caption question, one frame of vision tokens, an answer with loss only on it. */
function visionExample(i: number, source = "captions"): SourcedExample {
  const prompt = [1, 29871, 100 + i];
  const frame = Array.from({ length: 257 }, (_, k) => (k === 256 ? 8193 : (i * 31 + k) % 8192));
  const answer = [200 + i, 201, 2];
  const tokens = Uint16Array.from([...prompt, ...frame, ...answer]);
  const vision = Uint8Array.from([...prompt.map(() => 0), ...frame.map(() => 1), ...answer.map(() => 0)]);
  const loss = Uint8Array.from([...prompt.map(() => 0), ...frame.map(() => 0), ...answer.map(() => 1)]);
  return {
    exampleId: exampleIdOf("test-image-text", i),
    source,
    task: "image-text",
    documentId: null,
    tokens,
    vision,
    loss,
    provenance: { kind: "media", file: `img-${i}.png`, fileSha256: SHA, frameTimestamps: [0] },
  };
}

describe("examples contract", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-examples-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("writes and reads back every field of every example, flags exactly as written, across batches", async () => {
    const path = join(dir, "rt.arrow");
    const examples = Array.from({ length: 11 }, (_, i) => visionExample(i));
    const writer = new ExamplesWriter(path, { tokenDtype: "uint16", batchExamples: 4 });
    for (const e of examples) writer.append(e);
    const summary = await writer.close();
    expect(summary).toMatchObject({ examples: 11, tokens: 11 * 263, lossTokens: 11 * 3 });
    const back: SourcedExample[] = [];
    for await (const e of readExamplesFile(path)) back.push(e);
    expect(back).toEqual(examples);
  });

  it("refuses an example with loss on its first token when it is appended, naming the file and example", () => {
    const bad = visionExample(0);
    bad.loss[0] = 1;
    const writer = new ExamplesWriter(join(dir, "bad.arrow"), { tokenDtype: "uint16" });
    expect(() => writer.append(bad)).toThrow(/bad\.arrow: example [0-9a-f]{32}: loss\[0\]: the first token/);
  });

  it("stores uint32 ids in a uint16 file as uint16, and refuses an id that does not fit instead of wrapping it", async () => {
    const path = join(dir, "narrow.arrow");
    const wide = { ...visionExample(1), tokens: Uint32Array.from(visionExample(1).tokens) };
    const writer = new ExamplesWriter(path, { tokenDtype: "uint16" });
    writer.append(wide);
    await writer.close();
    const back: SourcedExample[] = [];
    for await (const e of readExamplesFile(path)) back.push(e);
    expect(back[0]?.tokens).toBeInstanceOf(Uint16Array);
    expect(Array.from(back[0]?.tokens ?? [])).toEqual(Array.from(wide.tokens));
    const tooBig = { ...visionExample(2), tokens: Uint32Array.from(visionExample(2).tokens) };
    tooBig.tokens[5] = 70_000;
    const w2 = new ExamplesWriter(join(dir, "too-big.arrow"), { tokenDtype: "uint16" });
    expect(() => w2.append(tooBig)).toThrow(/too-big\.arrow: example [0-9a-f]{32}: tokens\[5\] = 70000 does not fit/);
    await w2.abort();
  });
  it("a writer that got nothing leaves no file", async () => {
    expect(await new ExamplesWriter(join(dir, "empty.arrow"), { tokenDtype: "uint16" }).close()).toBeNull();
  });

  it("finds a stage's examples by source whichever step published them, and reads one source's parts", async () => {
    const out = await mkdtemp(join(dir, "out-"));
    async function publish(step: string, sources: string[], stage: string): Promise<void> {
      const stageDir = stepOutputDir(out, step, "examples", stage);
      await mkdir(stageDir, { recursive: true });
      const parts: ExamplesIndex["parts"] = [];
      for (const source of sources) {
        const w = new ExamplesWriter(join(stageDir, partFileName(parts.length)), { tokenDtype: "uint16" });
        for (let i = 0; i < 3; i++) w.append(visionExample(i, source));
        const made = await w.close();
        if (made) parts.push({ file: partFileName(parts.length), source, ...made });
      }
      await writeExamplesIndex(stageDir, {
        format: EXAMPLES_FORMAT,
        step,
        stepVersion: "1.0.0",
        stage,
        seqLen: 512,
        tokenDtype: "uint16",
        tokenizerSha256: SHA,
        vqganSha256: SHA,
        sources,
        examples: parts.reduce((s, p) => s + p.examples, 0),
        tokens: parts.reduce((s, p) => s + p.tokens, 0),
        parts,
      });
    }
    await publish("vision", ["captions", "video"], "vl");
    await publish("qa", ["longqa"], "vl");
    const found = await findStageExamples(out, "vl");
    expect([...found].map(([source, f]) => [source, f.step])).toEqual([
      ["longqa", "qa"],
      ["captions", "vision"],
      ["video", "vision"],
    ]);
    const video: string[] = [];
    for await (const e of readStageExamples(found.get("video")!.dir, { source: "video" })) video.push(e.source);
    expect(video).toEqual(["video", "video", "video"]);

    await publish("other", ["video"], "vl");
    await expect(findStageExamples(out, "vl")).rejects.toThrow(/source "video" of stage "vl" has examples from two steps: .*other.* and .*vision/);
  });

  it("writes and reads documents with their text, tokens and byte offsets", async () => {
    const docsDir = join(dir, "documents");
    await mkdir(docsDir);
    const doc: DocumentRecord = {
      documentId: exampleIdOf("doc", 1),
      title: "A title",
      language: null,
      text: "héllo world",
      tokens: Uint16Array.from([379, 2495, 3186]),
      tokenStarts: Int32Array.from([0, 1, 6]),
      tokenEnds: Int32Array.from([1, 6, 12]),
      provenance: { kind: "text-file", file: "a.txt", fileSha256: SHA, bytes: { start: 0, end: 12 } },
    };
    const w = new DocumentsWriter(join(docsDir, partFileName(0)), { tokenDtype: "uint16" });
    w.append(doc);
    const made = await w.close();
    await writeDocumentsIndex(docsDir, {
      format: DOCUMENTS_FORMAT,
      step: "books",
      stepVersion: "2.0.0",
      tokenDtype: "uint16",
      tokenizerSha256: SHA,
      documents: 1,
      tokens: 3,
      parts: [{ file: partFileName(0), sources: ["a"], ...made! }],
    });
    const back: DocumentRecord[] = [];
    for await (const d of readDocuments(docsDir)) back.push(d);
    expect(back).toEqual([doc]);
  });
});
