#!/usr/bin/env node
/**
 * Multi-query associative recall (MQAR) from scratch, on the project's engine: a row is
 *   BOS k1 v1 … k8 v8 SEP q1 a1 … q4 a4   (keys from 24 ids, values from 32, loss on the answers)
 * so each answer is the value that followed its key somewhere earlier: a content lookup at a random
 * position, the mechanism the needle needs, without a tokenizer or books. mqar.py trains the same
 * task with PyTorch and transformers' LlamaForCausalLM at the same size, as the control for "is it
 * our engine or the task": docs/tiny-lwm.md (sixth session) has both curves.
 *
 *   node datasets/tiny-lwm/mqar.mjs [DIM=64] [LAYERS=2] [LR=0.003] [STEPS=600] [PAIRS=8]
 * PAIRS is a count, or a curriculum "2:500,4:1500,8" (2 pairs until step 500, 4 until 1500, then 8);
 * held-out rows always have the last count.
 * Prints held-out answer accuracy every 50 steps (chance: 1/32 for any value, 1/8 for a value of the row).
 */
import { clipGlobalNorm, initParams, mulberry32, oneSegmentRow, trainer } from "./probe-kit.mjs";

const [dim, layers, lr, steps] = [
  Number(process.argv[2] ?? 64),
  Number(process.argv[3] ?? 2),
  Number(process.argv[4] ?? 0.003),
  Number(process.argv[5] ?? 600),
];
/** "2:500,4:1500,8" → [[2, 500], [4, 1500], [8, Infinity]] */
const schedule = (process.argv[6] ?? "8").split(",").map((part) => {
  const [n, until] = part.split(":").map(Number);
  if (!(Number.isInteger(n) && n >= 1 && n <= 24)) throw new Error(`PAIRS ${process.argv[6]}: every count in 1..24 (there are 24 keys)`);
  return [n, until ?? Infinity];
});
const MAX_PAIRS = Math.max(...schedule.map(([n]) => n));
const cfg = { vocabSize: 64, visionVocabSize: 0, dim, layers, heads: 2, ffnDim: 4 * dim, normEps: 1e-5, ropeTheta: 10000 };
const QUERIES = 4,
  BATCH = 64,
  // 2 + 2·PAIRS + 2·QUERIES tokens, padded (no loss) to a multiple of 4, as zigzag over 2 workers
  // cuts a row in 4; at least 32, the length the measured runs used.
  L = Math.max(32, 4 * Math.ceil((2 + 2 * MAX_PAIRS + 2 * QUERIES) / 4));

const u = mulberry32(12345);

function mqarRow(pairs) {
  const tokens = new Uint32Array(L),
    loss = new Uint8Array(L);
  const keys = [];
  while (keys.length < pairs) {
    const k = 8 + Math.floor(u() * 24);
    if (!keys.includes(k)) keys.push(k);
  }
  const values = keys.map(() => 32 + Math.floor(u() * 32));
  let w = 0;
  tokens[w++] = 1;
  for (let i = 0; i < pairs; i++) {
    tokens[w++] = keys[i];
    tokens[w++] = values[i];
  }
  tokens[w++] = 2;
  for (let q = 0; q < QUERIES; q++) {
    const i = Math.floor(u() * pairs);
    tokens[w++] = keys[i];
    tokens[w] = values[i];
    loss[w++] = 1;
  }
  return oneSegmentRow(tokens, loss);
}

const params = initParams(cfg, 3);
const engine = await trainer.createEngine(cfg, { workers: 2, layout: "zigzag" });
const optimizer = new trainer.AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0 });
const heldOut = Array.from({ length: BATCH }, () => mqarRow(schedule.at(-1)[0]));
const t0 = Date.now();
for (let step = 0; ; step++) {
  if (step % 50 === 0) {
    const r = await engine.forward(params, heldOut, BATCH, "text");
    console.log(
      `step ${step}: held-out accuracy ${(r.textCorrect / r.textTargets).toFixed(3)}, loss ${r.loss.toFixed(3)} | ${Math.round((Date.now() - t0) / 1000)} s`,
    );
  }
  if (step === steps) break;
  const pairs = schedule.find(([, until]) => step < until)[0];
  const rows = Array.from({ length: BATCH }, () => mqarRow(pairs));
  const r = await engine.forwardBackward(params, rows, BATCH, "text");
  clipGlobalNorm(r.grads, 1);
  optimizer.update(params, r.grads, lr * Math.min(1, (step + 1) / 20));
}
await engine.close();
