/**
 * Tokens/s of the production path (HF tokenizers, native) against the pure-JS reference
 * (llama-tokenizer-js) on the shared books, both given the same paragraph chunks.
 *
 *   npm run bench -w @lwm/tokenizer [-- --reps 3 --threads 2]
 *
 * Without ../shared/data it falls back to a generated corpus (seeded, so runs compare).
 */
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { limitTokenizerThreads, loadTokenizer, tokenizerThreadBudget } from "../src/index.js";
import { encodeReference } from "../src/reference.js";
import { hasSharedBooks, paragraphChunks, readSharedBooks } from "../src/test-helpers/corpus.js";

const { values } = parseArgs({
  options: { reps: { type: "string", default: "3" }, threads: { type: "string" } },
});
const reps = Number(values.reps);
if (values.threads !== undefined) limitTokenizerThreads(Number(values.threads));

function generatedCorpus(): { name: string; text: string }[] {
  const words = ["the", "long", "context", "model", "reads", "a", "book", "and", "then", "answers", "über", "déjà", "42", "\t", "—"];
  let seed = 1;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  const paragraphs: string[] = [];
  for (let p = 0; p < 8000; p += 1) {
    const sentence = Array.from({ length: 60 + (next() % 60) }, () => words[next() % words.length]).join(" ");
    paragraphs.push(`${sentence}.\n\n`);
  }
  return [{ name: "generated", text: paragraphs.join("") }];
}

const books = hasSharedBooks ? readSharedBooks() : generatedCorpus();
const chunks = books.flatMap((book) => paragraphChunks(book.text));
const bytes = books.reduce((sum, book) => sum + Buffer.byteLength(book.text), 0);
const tok = await loadTokenizer();

async function timed(label: string, run: () => Promise<number> | number): Promise<void> {
  await run(); // warm-up: caches, JIT, the native pool
  const times: number[] = [];
  let tokens = 0;
  for (let r = 0; r < reps; r += 1) {
    const start = performance.now();
    tokens = await run();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
  const ktoks = tokens / median / 1000;
  console.log(`${label.padEnd(44)} ${median.toFixed(2).padStart(6)} s  ${ktoks.toFixed(0).padStart(5)} ktok/s  ${(bytes / median / 1e6).toFixed(2)} MB/s`);
}

console.log(
  `corpus: ${hasSharedBooks ? "../shared/data/books" : "generated"} — ${books.length} files, ${(bytes / 1e6).toFixed(2)} MB, ` +
    `${chunks.length} paragraph chunks; ${cpus()[0]?.model ?? "cpu"} × ${availableParallelism()}; median of ${reps}`,
);
const reference = chunks.map((chunk) => encodeReference(chunk));
const referenceTokens = reference.reduce((sum, ids) => sum + ids.length, 0);
console.log(`tokens: ${referenceTokens}`);

await timed(`HF tokenizers encodeBatch, pool of ${tokenizerThreadBudget()}`, async () => {
  const ids = await tok.encodeBatch(chunks);
  return ids.reduce((sum, one) => sum + one.length, 0);
});
await timed("HF tokenizers encode, one await per chunk", async () => {
  let total = 0;
  for (const chunk of chunks) total += (await tok.encode(chunk)).length;
  return total;
});
await timed("llama-tokenizer-js (peer), per chunk", () => chunks.reduce((sum, chunk) => sum + encodeReference(chunk).length, 0));
