import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ExampleRecord, formatZodError, Provenance, TokenDtype } from "@lwm/schemas";
import { readArrowRows } from "./arrow-io.js";
import { lossFlags } from "./windows.js";

export const EXAMPLES_INDEX_FILE = "index.json";

/** <out>/work/books/examples/<stage>/index.json: the stage's example files, in reading order. */
export const ExamplesIndex = z.object({
  format: z.literal("lwm.books.examples/1"),
  stage: z.string(),
  seqLen: z.number().int().positive(),
  minTokens: z.number().int().nonnegative(),
  maxTokens: z.number().int().positive().nullable(),
  tokenDtype: TokenDtype,
  tokenizerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  bosId: z.number().int().nonnegative(),
  eosId: z.number().int().nonnegative(),
  lossRule: z.string(),
  /** Source names whose documents are in this stage. */
  sources: z.array(z.string()),
  documents: z.number().int().nonnegative(),
  examples: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  parts: z.array(
    z.object({
      file: z.string().regex(/^part-\d{5}\.arrow$/),
      /** The books source(s) that list this file part: one name, or several joined by ",". */
      source: z.string(),
      examples: z.number().int().nonnegative(),
      tokens: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});
export type ExamplesIndex = z.infer<typeof ExamplesIndex>;

export async function readExamplesIndex(dir: string): Promise<ExamplesIndex> {
  const path = join(dir, EXAMPLES_INDEX_FILE);
  const parsed = ExamplesIndex.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) throw new Error(formatZodError(parsed.error, path));
  return parsed.data;
}

/**
 * The examples of one stage folder (<out>/work/books/examples/<stage>/), in their stable order:
 * parts as listed in index.json (recipe source order, then files in sorted order, then position in
 * the file), and within a part, documents in file order and each document's windows in order.
 * Reads one record batch at a time. Each record is checked against ExampleRecord. With `source`,
 * only the examples of parts that recipe source lists (the pack step mixes sources by token share;
 * a file part listed by two sources belongs to both).
 */
export async function* readExamples(dir: string, options: { source?: string } = {}): AsyncIterable<ExampleRecord> {
  const index = await readExamplesIndex(dir);
  for (const part of index.parts) {
    if (options.source !== undefined && !part.source.split(",").includes(options.source)) continue;
    const path = join(dir, part.file);
    for await (const row of readArrowRows(path)) {
      const n = row.tokens.length;
      const record = {
        exampleId: row.strings.example_id,
        task: "text" as const,
        tokens: row.tokens,
        vision: new Uint8Array(n),
        loss: lossFlags(n),
        provenance: Provenance.parse(JSON.parse(row.strings.provenance ?? "null")),
      };
      const checked = ExampleRecord.safeParse(record);
      if (!checked.success) throw new Error(formatZodError(checked.error, `${path}: example ${String(row.strings.example_id)}`));
      yield checked.data;
    }
  }
}
