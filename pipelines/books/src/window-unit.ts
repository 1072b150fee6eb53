import { join } from "node:path";
import { exampleIdOf, exists, type UnitOutcome } from "@lwm/core";
import type { DocumentRecord, Provenance, TokenDtype } from "@lwm/schemas";
import { ExamplesWriter, readDocumentsFile } from "@lwm/shards";
import { TOKENIZE_FILES } from "./tokenize-unit.js";
import { lossFlags, windowsOf, windowTokens, type Window } from "./windows.js";

/** The stage settings a window unit reads (its key holds exactly these). */
export interface WindowStage {
  seqLen: number;
  minTokens: number;
  maxTokens?: number;
}

export interface WindowSpec {
  outDir: string;
  /** The tokenize unit's folder. */
  documentsDir: string;
  /** The recipe source the examples belong to. */
  source: string;
  stage: WindowStage;
  bosId: number;
  eosId: number;
  tokenDtype: TokenDtype;
  /** Examples per Arrow record batch. */
  batchExamples: number;
}

export const WINDOW_FILES = { examples: "examples.arrow" } as const;

/**
 * Cuts the documents of one tokenize unit whose token count lies in [minTokens, maxTokens] into
 * examples of at most seqLen tokens (see windows.ts) and writes them, in document order, to
 * examples.arrow in the examples contract's format (task "text", no vision, loss on every token
 * but the first; provenance with the window's token range and bytes).
 */
export async function windowUnit(spec: WindowSpec): Promise<UnitOutcome> {
  const metrics = { windowedDocuments: 0, examples: 0, exampleTokens: 0, lossTokens: 0 };
  const documents = join(spec.documentsDir, TOKENIZE_FILES.tokens);
  if (!(await exists(documents))) return { result: metrics, metrics };
  const { seqLen, minTokens, maxTokens } = spec.stage;
  const out = new ExamplesWriter(join(spec.outDir, WINDOW_FILES.examples), { tokenDtype: spec.tokenDtype, batchExamples: spec.batchExamples });
  try {
    for await (const doc of readDocumentsFile(documents)) {
      const n = doc.tokens.length;
      if (n < minTokens || (maxTokens !== undefined && n > maxTokens)) continue;
      metrics.windowedDocuments += 1;
      for (const w of windowsOf(n, seqLen)) {
        const tokens = windowTokens(doc.tokens, w, spec.bosId, spec.eosId);
        out.append({
          exampleId: exampleIdOf("text", doc.documentId, w.start, w.end, w.bos ? 1 : 0, w.eos ? 1 : 0),
          source: spec.source,
          task: "text",
          documentId: doc.documentId,
          tokens,
          vision: new Uint8Array(tokens.length),
          loss: lossFlags(tokens.length),
          provenance: windowProvenance(doc, w),
        });
        metrics.examples += 1;
        metrics.exampleTokens += tokens.length;
        metrics.lossTokens += tokens.length - 1;
      }
    }
    await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { result: metrics, metrics };
}

/**
 * The document's provenance narrowed to one window: its token range, the bytes of its tokens in the
 * cleaned text and, where the document has them, in the source file.
 */
export function windowProvenance(doc: DocumentRecord, w: Window): Provenance {
  const p = doc.provenance;
  if (p.kind !== "text-file" && p.kind !== "jsonl" && p.kind !== "parquet" && p.kind !== "epub") {
    throw new Error(`document ${doc.documentId}: provenance kind "${p.kind}" is not a book's`);
  }
  // An empty window (BOS + EOS of an empty document) sits at the start of the text.
  const text = w.end > w.start ? { start: doc.tokenStarts[w.start] as number, end: doc.tokenEnds[w.end - 1] as number } : { start: 0, end: 0 };
  const tokens = { start: w.start, end: w.end };
  if (p.kind === "text-file" && p.exactBytes) {
    return { ...p, tokens, text, exactBytes: { start: p.exactBytes.start + text.start, end: p.exactBytes.start + text.end } };
  }
  return { ...p, tokens, text };
}
