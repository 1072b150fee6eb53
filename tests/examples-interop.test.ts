/**
 * Examples and documents files (schemas/EXAMPLES.md) as another Arrow implementation sees them:
 * polars (Rust arrow, through nodejs-polars) reads each as an IPC stream, with the fixed column
 * order and every value of every column equal to what was written.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleIdOf, stableStringify, type JsonValue } from "@lwm/core";
import type { DocumentRecord, SourcedExample } from "@lwm/schemas";
import { DOCUMENT_COLUMNS, DocumentsWriter, EXAMPLE_COLUMNS, ExamplesWriter } from "@lwm/shards";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const POLARS_DIR = join(here, "interop/node_modules/nodejs-polars");
const hasPolars = existsSync(POLARS_DIR);
if (!hasPolars) console.warn(`skipped: ${POLARS_DIR} not found (npm ci --prefix tests/interop installs it)`);

interface PlFrame {
  height: number;
  columns: string[];
  getColumn(name: string): { toArray(): unknown[] };
}
interface Polars {
  readIPCStream(body: Buffer): PlFrame;
}

/** Text examples (loss on all but the first token) and image-text ones (a frame of vision tokens, loss on the answer). */
function example(i: number): SourcedExample {
  const withVision = i % 3 === 0;
  const text = Array.from({ length: 3 + (i % 11) }, (_, k) => 3 + ((i * 97 + k * 31) % 31000));
  const frame = withVision ? [...Array.from({ length: 256 }, (_, k) => (i + k) % 8192), 8193] : [];
  const tokens = Uint16Array.from([1, ...frame, ...text, 2]);
  const vision = Uint8Array.from([0, ...frame.map(() => 1), ...text.map(() => 0), 0]);
  const loss = Uint8Array.from([0, ...frame.map(() => 0), ...text.map((_, k) => (withVision && k < 2 ? 0 : 1)), 1]);
  return {
    exampleId: exampleIdOf("interop", i),
    source: withVision ? "images" : "books",
    task: withVision ? "image-text" : "text",
    documentId: withVision ? null : exampleIdOf("doc", i >> 2),
    tokens,
    vision,
    loss,
    provenance: withVision
      ? { kind: "media", file: `images/${i}.jpg`, fileSha256: "3".repeat(64), frameTimestamps: [0] }
      : { kind: "text-file", file: "book.txt", fileSha256: "4".repeat(64), bytes: { start: 0, end: 900 }, tokens: { start: i, end: i + 10 } },
  };
}

describe.skipIf(!hasPolars)("examples and documents files read by polars", () => {
  let dir: string;
  let pl: Polars;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-examples-interop-"));
    pl = createRequire(import.meta.url)(POLARS_DIR) as Polars;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("an examples file: every column, every value, batches and the null document ids included", async () => {
    const path = join(dir, "part-00000.arrow");
    const examples = Array.from({ length: 30 }, (_, i) => example(i));
    const writer = new ExamplesWriter(path, { tokenDtype: "uint16", batchExamples: 7 });
    for (const e of examples) writer.append(e);
    await writer.close();
    const frame = pl.readIPCStream(await readFile(path));
    expect(frame.columns).toEqual([...EXAMPLE_COLUMNS]);
    expect(frame.height).toBe(examples.length);
    const col = (name: string) => frame.getColumn(name).toArray();
    expect(col("example_id")).toEqual(examples.map((e) => e.exampleId));
    expect(col("source")).toEqual(examples.map((e) => e.source));
    expect(col("task")).toEqual(examples.map((e) => e.task));
    expect(col("document_id")).toEqual(examples.map((e) => e.documentId));
    expect(col("provenance").map((p) => JSON.parse(p as string) as unknown)).toEqual(examples.map((e) => e.provenance));
    expect(col("tokens")).toEqual(examples.map((e) => Array.from(e.tokens)));
    expect(col("vision")).toEqual(examples.map((e) => Array.from(e.vision, Boolean)));
    expect(col("loss")).toEqual(examples.map((e) => Array.from(e.loss, Boolean)));
  });

  it("a documents file: text, tokens and per-token byte offsets", async () => {
    const path = join(dir, "documents.arrow");
    const docs: DocumentRecord[] = Array.from({ length: 5 }, (_, i) => ({
      documentId: exampleIdOf("doc", i),
      title: i % 2 ? `Book ${i}` : null,
      language: "en",
      text: `Für ${i} — text`,
      tokens: Uint16Array.from([100 + i, 200, 300]),
      tokenStarts: Int32Array.from([0, 4, 8]),
      tokenEnds: Int32Array.from([4, 8, 14]),
      provenance: { kind: "text-file", file: `b${i}.txt`, fileSha256: "5".repeat(64), bytes: { start: 0, end: 15 } },
    }));
    const writer = new DocumentsWriter(path, { tokenDtype: "uint16" });
    for (const d of docs) writer.append(d);
    await writer.close();
    const frame = pl.readIPCStream(await readFile(path));
    expect(frame.columns).toEqual([...DOCUMENT_COLUMNS]);
    const col = (name: string) => frame.getColumn(name).toArray();
    expect(col("document_id")).toEqual(docs.map((d) => d.documentId));
    expect(col("title")).toEqual(docs.map((d) => d.title));
    expect(col("text")).toEqual(docs.map((d) => d.text));
    expect(col("provenance")).toEqual(docs.map((d) => stableStringify(d.provenance as unknown as JsonValue)));
    expect(col("tokens")).toEqual(docs.map((d) => Array.from(d.tokens)));
    expect(col("token_start")).toEqual(docs.map((d) => Array.from(d.tokenStarts)));
    expect(col("token_end")).toEqual(docs.map((d) => Array.from(d.tokenEnds)));
  });
});
