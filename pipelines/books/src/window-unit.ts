import { join } from "node:path";
import { exampleIdOf, exists, stableStringify, type JsonValue, type UnitOutcome } from "@lwm/core";
import { Provenance, type TokenDtype } from "@lwm/schemas";
import { ArrowStreamFile, readArrowRows, type TokenArray } from "./arrow-io.js";
import { TOKENIZE_FILES } from "./tokenize-unit.js";
import { windowsOf, windowTokens } from "./windows.js";

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
  stage: WindowStage;
  bosId: number;
  eosId: number;
  tokenDtype: TokenDtype;
  /** Examples per Arrow record batch. */
  batchExamples: number;
}

export const WINDOW_FILES = { examples: "examples.arrow" } as const;

/** Schema metadata of every examples file. */
export const EXAMPLES_METADATA = {
  format: "lwm.books.examples/1",
  lossRule: "loss on every token of an example except its first (BOS or a continuation window's first token)",
} as const;

/**
 * Cuts the documents of one tokenize unit whose token count lies in [minTokens, maxTokens] into
 * examples of at most seqLen tokens (see windows.ts) and writes them, in document order, to
 * examples.arrow: example_id, document_id, provenance (JSON, with the token range), tokens.
 */
export async function windowUnit(spec: WindowSpec): Promise<UnitOutcome> {
  const metrics = { windowedDocuments: 0, examples: 0, exampleTokens: 0 };
  const source = join(spec.documentsDir, TOKENIZE_FILES.tokens);
  if (!(await exists(source))) return { result: metrics, metrics };
  const { seqLen, minTokens, maxTokens } = spec.stage;
  const out = new ArrowStreamFile(
    join(spec.outDir, WINDOW_FILES.examples),
    spec.tokenDtype,
    new Map([
      ["format", EXAMPLES_METADATA.format],
      ["seq_len", String(seqLen)],
      ["token_dtype", spec.tokenDtype],
      ["loss_rule", EXAMPLES_METADATA.lossRule],
    ]),
  );
  let ids: string[] = [];
  let documentIds: string[] = [];
  let provenances: string[] = [];
  let tokens: TokenArray[] = [];
  const flush = (): void => {
    out.write({
      example_id: { kind: "utf8", values: ids },
      document_id: { kind: "utf8", values: documentIds },
      provenance: { kind: "utf8", values: provenances },
      tokens: { kind: "tokens", values: tokens },
    });
    ids = [];
    documentIds = [];
    provenances = [];
    tokens = [];
  };
  try {
    for await (const row of readArrowRows(source)) {
      const n = row.tokens.length;
      if (n < minTokens || (maxTokens !== undefined && n > maxTokens)) continue;
      const documentId = row.strings.document_id as string;
      const provenance = Provenance.parse(JSON.parse(row.strings.provenance as string));
      metrics.windowedDocuments += 1;
      for (const w of windowsOf(n, seqLen)) {
        const t = windowTokens(row.tokens, w, spec.bosId, spec.eosId);
        ids.push(exampleIdOf("text", documentId, w.start, w.end, w.bos ? 1 : 0, w.eos ? 1 : 0));
        documentIds.push(documentId);
        provenances.push(stableStringify({ ...provenance, tokens: { start: w.start, end: w.end } } as unknown as JsonValue));
        tokens.push(t);
        metrics.examples += 1;
        metrics.exampleTokens += t.length;
        if (ids.length >= spec.batchExamples) flush();
      }
    }
    flush();
    await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { result: metrics, metrics };
}
