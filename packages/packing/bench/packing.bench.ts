/**
 * Packing benchmark: the streaming best-fit packer (bounded open rows) against offline
 * first-fit-decreasing (all lengths known and sorted up front — the classic bin-packing peer).
 * Reports rows, fill (real tokens / row tokens) and examples per second.
 *
 *   npm run bench -w @lwm/packing [-- --examples N --seq-len L]
 */
import { parseArgs } from "node:util";
import { SequencePacker } from "../src/packer.js";

const { values } = parseArgs({ options: { examples: { type: "string", default: "1000000" }, "seq-len": { type: "string", default: "32768" } } });
const count = Number(values.examples);
const seqLen = Number(values["seq-len"]);

// Book windows and short documents: lognormal lengths (median ≈ seqLen/8), capped at seqLen,
// plus every long document's full-length windows, as the books step emits them.
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
const lengths = new Int32Array(count);
for (let i = 0; i < count; i++) {
  const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  lengths[i] = Math.max(16, Math.min(seqLen, Math.round(Math.exp(Math.log(seqLen / 8) + 1.2 * normal))));
}
const total = lengths.reduce((s, x) => s + x, 0);

function streaming(openRows: number): { rows: number; ms: number } {
  const t0 = performance.now();
  const packer = new SequencePacker<number>({ seqLen, openRows });
  let rows = 0;
  for (let i = 0; i < count; i++) rows += packer.add({ length: lengths[i]!, value: i }).length;
  rows += packer.flush().length;
  return { rows, ms: performance.now() - t0 };
}

/** Offline first-fit-decreasing with a segment tree over row free space (O(n log n)). */
function firstFitDecreasing(): { rows: number; ms: number } {
  const t0 = performance.now();
  const sorted = Int32Array.from(lengths).sort().reverse();
  let size = 1;
  while (size < count) size *= 2;
  const tree = new Int32Array(2 * size).fill(0); // max free space per subtree; unopened rows hold seqLen
  for (let i = 0; i < size; i++) tree[size + i] = seqLen;
  for (let i = size - 1; i >= 1; i--) tree[i] = Math.max(tree[2 * i]!, tree[2 * i + 1]!);
  let rows = 0;
  for (const len of sorted) {
    let node = 1;
    while (node < size) node = tree[2 * node]! >= len ? 2 * node : 2 * node + 1;
    const row = node - size;
    if (tree[node] === seqLen) rows = Math.max(rows, row + 1);
    tree[node] = tree[node]! - len;
    for (node >>= 1; node >= 1; node >>= 1) tree[node] = Math.max(tree[2 * node]!, tree[2 * node + 1]!);
  }
  return { rows, ms: performance.now() - t0 };
}

const lowerBound = Math.ceil(total / seqLen);
const line = (name: string, r: { rows: number; ms: number }) =>
  `${name.padEnd(34)} ${String(r.rows).padStart(9)} rows  fill ${((100 * total) / (r.rows * seqLen)).toFixed(2).padStart(6)} %  ${(((count / r.ms) * 1000) / 1e6).toFixed(2).padStart(6)} M examples/s`;
console.log(`${count} examples, ${total} tokens, seqLen ${seqLen}; lower bound ${lowerBound} rows`);
for (const open of [8, 64, 256]) console.log(line(`streaming best-fit, ${open} open rows`, streaming(open)));
console.log(line("offline first-fit-decreasing (peer)", firstFitDecreasing()));
