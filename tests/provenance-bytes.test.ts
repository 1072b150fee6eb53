/**
 * Provenance reaches the exact bytes of a window: for every segment of every row of the packed
 * sample, the source file sliced at the segment's recorded `exactBytes` is the text of the
 * segment's tokens (decoded by the tokenizer), and the published document's cleaned text sliced at
 * `text` is the same bytes. No re-tokenization is needed to find them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stableStringify, type JsonValue } from "@lwm/core";
import type { Provenance } from "@lwm/schemas";
import { readDocuments, readManifest, ShardReader } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { repoRoot } from "./cli.js";
import { sampleRun } from "./sample-run.js";

const SAMPLE = join(repoRoot, "datasets/sample");

describe("window provenance on the bundled sample", () => {
  let out: string;
  beforeAll(async () => {
    out = await sampleRun();
  }, 180_000);

  it("every segment's text range slices its document's cleaned text to its decoded tokens, and a .txt's exactBytes slice the file to the same bytes", async () => {
    const tokenizer = await loadTokenizer();
    /** A document's identity: its provenance without the window fields. */
    const keyOf = (p: Provenance): string => {
      const { tokens: _t, text: _x, exactBytes: _e, ...rest } = p as Provenance & { tokens?: unknown; text?: unknown; exactBytes?: unknown };
      return stableStringify(rest as unknown as JsonValue);
    };
    const texts = new Map<string, Buffer>();
    for await (const d of readDocuments(join(out, "work/books/documents"))) texts.set(keyOf(d.provenance), Buffer.from(d.text, "utf8"));
    const files = new Map<string, Buffer>();
    const fileBytes = (name: string): Buffer => {
      let b = files.get(name);
      if (!b) files.set(name, (b = readFileSync(join(SAMPLE, name))));
      return b;
    };
    const counts = { segments: 0, fromFile: 0 };
    for (const stage of ["2k", "8k"]) {
      const manifest = await readManifest(join(out, stage, "manifest.json"));
      for (const entry of manifest.shards) {
        const reader = await ShardReader.open(join(out, stage, entry.file));
        try {
          for (let r = 0; r < reader.numRows; r++) {
            const row = await reader.row(r);
            for (let s = 0; s < row.provenance.length; s++) {
              const where = `${stage} row ${r} segment ${s}`;
              const p = row.provenance[s]!;
              // A QA segment is a chat around a context, not a window: tests/qa-step.test.ts checks its provenance.
              if (p.kind === "qa") continue;
              if (!("text" in p) || !p.text) throw new Error(`${where}: no text range in ${JSON.stringify(p)}`);
              const document = texts.get(keyOf(p));
              if (!document) throw new Error(`${where}: no published document with provenance ${keyOf(p)}`);
              const window = document.subarray(p.text.start, p.text.end).toString("utf8");
              const decoded = await tokenizer.decode(row.tokens.subarray(row.cuSeqlens[s], row.cuSeqlens[s + 1]));
              // SentencePiece drops the space that a window's first piece ("▁word") stands for.
              expect(window.replace(/^ /, ""), where).toBe(decoded);
              if (p.kind === "text-file" && p.exactBytes) {
                expect(fileBytes(p.file).subarray(p.exactBytes.start, p.exactBytes.end).toString("utf8"), where).toBe(window);
                counts.fromFile++;
              }
              counts.segments++;
            }
          }
        } finally {
          await reader.close();
        }
      }
    }
    expect(counts.segments).toBeGreaterThan(50);
    expect(counts.fromFile).toBeGreaterThan(10);
  }, 120_000);
});
