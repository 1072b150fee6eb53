/**
 * Shared helpers of the books end-to-end tests: generated fixtures (so a fresh clone passes without
 * ../shared/data), starting the real `lwm` CLI for the kill tests (cli.ts runs it to completion), and reading
 * what the books step wrote.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { strToU8, zipSync } from "fflate";
import { DocumentEntry, recleanFromProvenance } from "@lwm/books";
import { readStageExamples } from "@lwm/shards";
import { listFiles, stableStringify, type JsonValue } from "@lwm/core";
import type { ExampleRecord, RecipeInput } from "@lwm/schemas";

import { CLI, repoRoot } from "./cli.js";

export { CLI, repoRoot };
export const sharedBooks = resolve(repoRoot, "../shared/data/books");
export const hasSharedBooks = existsSync(sharedBooks);

/** Deterministic pseudo-random prose (an LCG over a small word list), `words` words long, with paragraphs. */
export function prose(seed: number, words: number): string {
  const vocab = (
    "the of and to in was he that it his her with as had for she not but at on be my is you by all which were this from so " +
    "they have one an said me we if or when what there would no their more been them into out up who some could time then " +
    "Gregor Elizabeth whale captain river garden letter morning evening window voice silence journey ship harbour Mr. Darcy"
  ).split(" ");
  let state = seed >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < words; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    let w = vocab[state % vocab.length] as string;
    if (i % 13 === 0) w = w.charAt(0).toUpperCase() + w.slice(1);
    out.push(w);
    if (i % 13 === 12) out.push(i % 91 === 90 ? ".\n\n" : ".");
  }
  return out.join(" ").replace(/ \./g, ".").replace(/\n\n /g, "\n\n") + ".";
}

/** A Project Gutenberg style file around `body`. */
export function gutenbergFile(title: string, language: string, body: string, options: { indentEnd?: boolean; crlf?: boolean; bom?: boolean } = {}): string {
  const text = [
    `The Project Gutenberg eBook of ${title}`,
    "",
    "This ebook is for the use of anyone anywhere in the United States and",
    "most other parts of the world at no cost and with almost no restrictions",
    "whatsoever. You may copy it, give it away or re-use it under the terms",
    "of the Project Gutenberg License included with this ebook or online",
    "at www.gutenberg.org.",
    "",
    `Title: ${title}`,
    "",
    "Author: A. Generator",
    "",
    `Language: ${language}`,
    "",
    `*** START OF THE PROJECT GUTENBERG EBOOK ${title.toUpperCase()} ***`,
    "",
    "Produced by the test suite",
    "",
    "",
    body,
    "",
    `${options.indentEnd ? "            " : ""}*** END OF THE PROJECT GUTENBERG EBOOK ${title.toUpperCase()} ***`,
    "",
    "Updated editions will replace the previous one--the old editions will",
    "be renamed.",
    "",
    "START: FULL LICENSE",
    "THE FULL PROJECT GUTENBERG LICENSE",
    "PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK",
    "",
  ].join("\n");
  return (options.bom ? "\uFEFF" : "") + (options.crlf ? text.replace(/\n/g, "\r\n") : text);
}

/**
 * Generated .txt books: PG framing (one with an indented END marker), CRLF, BOM and NFD text, and
 * a German book without any PG header (like pg22367). Returns the folder.
 */
export async function writeTxtFixtures(dir: string, count = 6, words = 6000): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i += 1) {
    let body = prose(1000 + i, words + i * 500);
    if (i % 3 === 1) body = `Cafe\u0301 Zu\u0308rich, na\u0131\u0308ve. ${body}`; // NFD: must come out NFC
    const file =
      i === count - 1
        ? `   DIE VERWANDLUNG\n\n${body}\n\n*** END OF THE PROJECT GUTENBERG EBOOK DIE VERWANDLUNG ***\n\nSection 1. General Terms of Use\n`
        : gutenbergFile(`Generated Book ${i}`, i % 2 === 0 ? "English" : "French", body, { indentEnd: i % 2 === 1, crlf: i % 3 === 2, bom: i % 3 === 0 });
    await writeFile(join(dir, `book${String(i).padStart(2, "0")}.txt`), file);
  }
  return dir;
}

export function recipeOf(overrides: Partial<RecipeInput> & Pick<RecipeInput, "sources">): RecipeInput {
  return {
    formatVersion: 1,
    name: "books-e2e",
    stages: [
      { name: "full", seqLen: 4096, ropeTheta: 1e6, mixture: Object.fromEntries(overrides.sources.map((s) => [s.name, 1])) },
      // Small fixtures may leave the band empty: that is allowed here (an empty stage fails otherwise).
      {
        name: "band",
        seqLen: 1024,
        ropeTheta: 1e6,
        minTokens: 9000,
        maxTokens: 300_000,
        allowEmpty: true,
        mixture: Object.fromEntries(overrides.sources.map((s) => [s.name, 1])),
      },
    ],
    ...overrides,
  };
}

export async function writeRecipe(dir: string, recipe: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "recipe.json");
  await writeFile(path, JSON.stringify(recipe, null, 2));
  return path;
}

/** Starts `lwm <args>` without waiting (for the kill test). */
export function lwmSpawn(args: string[]): ReturnType<typeof spawn> {
  return spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
}

/** path → sha256 of every file of the books step's folder that must be byte-identical between runs. */
export async function outputDigest(outDir: string): Promise<Record<string, string>> {
  const files = await listFiles(join(outDir, "work", "books"));
  return Object.fromEntries(files.filter((f) => !/^report.*\.json$/.test(f.path) && f.path !== "executions.log").map((f) => [f.path, f.sha256]));
}

export async function readDocuments(outDir: string): Promise<DocumentEntry[]> {
  const text = await readFile(join(outDir, "work/books/documents.jsonl"), "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => DocumentEntry.parse(JSON.parse(l)));
}

export interface RejectLine {
  source: string;
  position: Record<string, unknown>;
  reason: string;
}

export async function readRejects(outDir: string): Promise<RejectLine[]> {
  const text = await readFile(join(outDir, "work/books/rejects.jsonl"), "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RejectLine);
}

export async function collectExamples(outDir: string, stage: string): Promise<ExampleRecord[]> {
  const out: ExampleRecord[] = [];
  for await (const e of readStageExamples(join(outDir, "work/books/examples", stage))) out.push(e);
  return out;
}

/**
 * Each document's tokens put back together from its windows (BOS/EOS dropped), checking on the way
 * that windows are consecutive, BOS opens and EOS closes each document and neither appears elsewhere.
 */
export function documentsFromExamples(examples: readonly ExampleRecord[], bosId: number, eosId: number): Map<string, { tokens: number[]; closed: boolean }> {
  const docs = new Map<string, { tokens: number[]; closed: boolean }>();
  for (const e of examples) {
    const p = e.provenance;
    if (!("tokens" in p) || !p.tokens) throw new Error(`example ${e.exampleId} has no token range`);
    const key = provenanceKey(p);
    const doc = docs.get(key) ?? { tokens: [], closed: false };
    if (doc.closed) throw new Error(`example ${e.exampleId}: a window after the document's EOS`);
    if (p.tokens.start !== doc.tokens.length) throw new Error(`example ${e.exampleId}: window starts at ${p.tokens.start}, expected ${doc.tokens.length}`);
    const tokens = [...e.tokens];
    const bos = p.tokens.start === 0;
    if ((tokens[0] === bosId) !== bos) throw new Error(`example ${e.exampleId}: BOS ${bos ? "missing" : "inside a continuation"}`);
    const body = tokens.slice(bos ? 1 : 0);
    const extra = body.length - (p.tokens.end - p.tokens.start);
    if (extra === 1) {
      if (body[body.length - 1] !== eosId) throw new Error(`example ${e.exampleId}: the extra token is not EOS`);
      doc.closed = true;
    } else if (extra !== 0) throw new Error(`example ${e.exampleId}: ${extra} tokens beyond its range`);
    const inner = body.slice(0, p.tokens.end - p.tokens.start);
    if (inner.includes(bosId) || inner.includes(eosId)) throw new Error(`example ${e.exampleId}: BOS/EOS inside the text`);
    doc.tokens.push(...inner);
    docs.set(key, doc);
  }
  return docs;
}

/** A document's identity in its provenance (a window's token range and bytes left out). */
export function provenanceKey(p: DocumentEntry["provenance"]): string {
  const {
    tokens: _tokens,
    text: _text,
    exactBytes: _exact,
    ...rest
  } = p as DocumentEntry["provenance"] & { tokens?: unknown; text?: unknown; exactBytes?: unknown };
  return stableStringify(rest as unknown as JsonValue);
}

/** A minimal EPUB 3 built with fflate: chapters listed in the manifest in reverse; the spine decides the order. */
export function buildEpub(title: string, language: string, chapters: string[]): Uint8Array {
  const ids = chapters.map((_, i) => `ch${i + 1}`);
  const manifest = [...ids]
    .reverse()
    .map((id) => `<item id="${id}" href="text/${id}.xhtml" media-type="application/xhtml+xml"/>`)
    .join("");
  const files: Record<string, Uint8Array> = {
    mimetype: strToU8("application/epub+zip"),
    "META-INF/container.xml": strToU8(
      `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`,
    ),
    "OEBPS/content.opf": strToU8(
      `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>${title}</dc:title><dc:language>${language}</dc:language></metadata><manifest>${manifest}</manifest><spine>${ids.map((id) => `<itemref idref="${id}"/>`).join("")}</spine></package>`,
    ),
  };
  chapters.forEach((body, i) => {
    const paragraphs = body
      .split("\n\n")
      .map((p) => `<p>${p.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</p>`)
      .join("\n");
    files[`OEBPS/text/${ids[i]}.xhtml`] = strToU8(
      `<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${i + 1}</title></head><body><h1>Chapter ${i + 1}</h1>\n${paragraphs}</body></html>`,
    );
  });
  return zipSync(files);
}

/**
 * For every document the step kept: re-clean its provenance slice, tokenize that text in one
 * call, and compare the ids with the document rebuilt from the "full" stage's windows.
 */
export async function verifyDocumentTokens(
  outDir: string,
  baseDir: string,
  fields: { text: string },
  tokenizer: { encode(text: string): Promise<Uint32Array>; bosId: number; eosId: number },
): Promise<{ documents: DocumentEntry[]; texts: Map<string, string> }> {
  const documents = (await readDocuments(outDir)).filter((d) => d.duplicateOf === undefined);
  const full = documentsFromExamples(await collectExamples(outDir, "full"), tokenizer.bosId, tokenizer.eosId);
  const texts = new Map<string, string>();
  for (const doc of documents) {
    const text = await recleanFromProvenance(doc.provenance as Parameters<typeof recleanFromProvenance>[0], {
      baseDir,
      fields,
      clean: { stripGutenberg: true, minChars: 1 },
    });
    texts.set(doc.documentId, text);
    if (text.length !== doc.chars) throw new Error(`${doc.documentId}: re-cleaned ${text.length} chars, the step had ${doc.chars}`);
    const direct = await tokenizer.encode(text);
    const rebuilt = full.get(provenanceKey(doc.provenance));
    if (!rebuilt?.closed) throw new Error(`${doc.documentId}: no complete window sequence in stage "full"`);
    const same = rebuilt.tokens.length === direct.length && rebuilt.tokens.every((t, i) => t === direct[i]);
    if (!same) throw new Error(`${doc.documentId}: window ids differ from one-call tokenization of the re-cleaned text`);
  }
  return { documents, texts };
}
