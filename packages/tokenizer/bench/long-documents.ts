/**
 * Long documents: `encodeDocuments` (pieces cut at proven-safe boundaries, one parallel batch)
 * against the peer, `encodeBatch` of whole documents (one BPE "word" per document), on the same
 * texts, ids compared. Cases: the shared books (whole books, as the books step gets them) and one
 * line of generated words with no newline at several lengths (issue #16: 50 MB took 167 s, 4.5 GB).
 *
 *   vite-node bench/long-documents.ts [-- --threads 2 --line-mb 1,4,16,50 --whole-max-mb 4]
 *
 * Whole-text encoding of the longer lines is skipped past --whole-max-mb (it is superlinear).
 */
import { parseArgs } from "node:util";
import { limitTokenizerThreads, loadTokenizer } from "../src/index.js";
import { hasSharedBooks, readSharedBooks } from "../src/test-helpers/corpus.js";

const { values } = parseArgs({
  options: { threads: { type: "string", default: "2" }, "line-mb": { type: "string", default: "1,4,16,50" }, "whole-max-mb": { type: "string", default: "4" } },
});
limitTokenizerThreads(Number(values.threads));
const tok = await loadTokenizer();

function line(bytes: number): string {
  const vocab = "the of and to in was he that it his her with as had for she not but at on be my is you by all which were this".split(" ");
  let state = 7;
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const w = vocab[state % vocab.length] as string;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(" ").slice(0, bytes);
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number; rssMiB: number }> {
  const t = performance.now();
  const value = await f();
  return { value, seconds: (performance.now() - t) / 1000, rssMiB: process.memoryUsage.rss() / 2 ** 20 };
}

const same = (a: Uint32Array, b: Uint32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

console.log(`threads ${values.threads}; peer: encodeBatch of whole documents`);
if (hasSharedBooks) {
  const books = readSharedBooks().map((b) => b.text);
  const chars = books.reduce((n, b) => n + b.length, 0);
  const peer = await timed(() => tok.encodeBatch(books));
  const ours = await timed(() => tok.encodeDocuments(books));
  const ids = ours.value.map((r) => (r.ok ? r.ids : new Uint32Array(0)));
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  console.log(
    `8 shared books, ${(chars / 1e6).toFixed(1)} M chars, ${tokens} tokens, ids equal: ${ids.every((x, i) => same(x, peer.value[i] as Uint32Array))}`,
  );
  console.log(`  peer encodeBatch(whole books): ${peer.seconds.toFixed(2)} s, ${(tokens / peer.seconds / 1e3).toFixed(0)} K tok/s`);
  console.log(`  encodeDocuments:               ${ours.seconds.toFixed(2)} s, ${(tokens / ours.seconds / 1e3).toFixed(0)} K tok/s`);
}
for (const mb of (values["line-mb"] as string).split(",").map(Number)) {
  const text = line(mb * 1e6);
  const ours = await timed(() => tok.encodeDocuments([text]));
  const r = ours.value[0];
  const tokens = r?.ok ? r.ids.length : 0;
  let peer = "skipped (superlinear)";
  if (mb <= Number(values["whole-max-mb"])) {
    const whole = await timed(() => tok.encode(text));
    peer = `${whole.seconds.toFixed(2)} s (ids equal: ${r?.ok === true && same(r.ids, whole.value)})`;
  }
  console.log(
    `one line of ${mb} MB, ${tokens} tokens: encodeDocuments ${ours.seconds.toFixed(2)} s (${(tokens / ours.seconds / 1e3).toFixed(0)} K tok/s, process RSS ${ours.rssMiB.toFixed(0)} MiB); peer whole encode ${peer}`,
  );
}
