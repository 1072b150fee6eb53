#!/usr/bin/env node
// Compares the packed rows of two output roots stage by stage, row for row: tokens, vision and loss
// flags, cu_seqlens and both weight columns must be identical; example ids, provenance and metadata
// may differ. Usage: node tests/tools/compare-rows.mjs <outA> <outB> <stage>[,<stage>…]
// (Used to check that a refactoring keeps the sample's training data bit for bit.)
import { join } from "node:path";
import { readManifest, ShardReader } from "@lwm/shards";

const [a, b, stages] = process.argv.slice(2);
if (!a || !b || !stages) {
  console.error("usage: compare-rows.mjs <outA> <outB> <stage>[,<stage>…]");
  process.exit(2);
}

async function* rows(out, stage) {
  const manifest = await readManifest(join(out, stage, "manifest.json"));
  for (const shard of manifest.shards) {
    const reader = await ShardReader.open(join(out, stage, shard.file));
    try {
      for (let r = 0; r < reader.numRows; r++) yield await reader.row(r);
    } finally {
      await reader.close();
    }
  }
}

const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
let failed = false;
for (const stage of stages.split(",")) {
  const left = rows(a, stage);
  const right = rows(b, stage);
  let n = 0;
  for (;;) {
    const [x, y] = await Promise.all([left.next(), right.next()]);
    if (x.done || y.done) {
      if (x.done !== y.done) {
        console.log(`${stage}: row counts differ after ${n} rows`);
        failed = true;
      }
      break;
    }
    for (const field of ["tokens", "vision", "loss", "cuSeqlens", "weightText", "weightVision"]) {
      if (!same(Array.from(x.value[field]), Array.from(y.value[field]))) {
        console.log(`${stage}: row ${n}: ${field} differs`);
        failed = true;
      }
    }
    n++;
  }
  console.log(`${stage}: ${n} rows compared`);
}
console.log(failed ? "DIFFERENT" : "IDENTICAL: tokens, vision, loss, cu_seqlens, weight_text, weight_vision");
process.exit(failed ? 1 : 0);
