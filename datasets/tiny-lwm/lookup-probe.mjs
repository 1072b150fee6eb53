#!/usr/bin/env node
/**
 * A fast look inside the tiny-LWM retrieval problem (docs/tiny-lwm.md, sixth session): trains a
 * checkpoint (or a fresh model) on recall rows of exactly --length tokens with the real engine (the
 * ring over worker threads) and, every --eval-every steps, measures teacher-forced accuracy on
 * held-out rows: evaluation-pool facts in the held-out haystack, so nothing measured was trained on.
 *
 *   digits  every digit of the asked number (chance ≈ 0.1): the lookup itself
 *   first   the number's first digit (the step from "X is" to the value)
 *   rest    the other six (copying on from the first)
 *   key     the asked key's tokens in the answer, when the answer restates it (recall 2.x: "The secret
 *           code of ‹Chicago› is …"): copied from the question. Recall 3.x answers the number alone,
 *           and then key and trainKey are not measured.
 *   trainKey the same for keys of the training pool (--keys): a city the model has seen asked for many
 *            times, or a synthetic name of the kind it trains on (whether the copy formed at all)
 *
 * Teacher forcing isolates each hop, which the greedy needle eval cannot: a model that copies the
 * digits but not the key still scores 0 there. A round of probes takes about 5 s (a greedy needle
 * probe 20–60 s), and it says which hop is missing.
 *
 *   node datasets/tiny-lwm/lookup-probe.mjs [--init CHECKPOINT] [--length 128] [--rows 32] [--steps 200]
 *        [--lr 0.001] [--facts 2] [--probe-facts 2] [--keys cities|names] [--eval-every 25] [--save DIR] [--json]
 *
 * --keys cities draws the training keys from the recall task's pool (108 cities); names draws
 * synthetic names (the recall step's `keys: "names"`, billions of them), so a key can only be copied,
 * never remembered. Training rows plant 1..--facts facts, probe rows exactly --probe-facts.
 * Without --init a fresh model (--dim, --layers, --heads) starts.
 * Needs `npm run build` and `node datasets/tiny-lwm/prepare.mjs` (the data/train and data/haystack links).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { clipGlobalNorm, initParams, loadTokenizer, mulberry32, oneSegmentRow, trainer } from "./probe-kit.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const { values: a } = parseArgs({
  options: {
    init: { type: "string" },
    length: { type: "string", default: "128" },
    rows: { type: "string", default: "32" },
    steps: { type: "string", default: "200" },
    lr: { type: "string", default: "0.001" },
    warmup: { type: "string", default: "20" },
    facts: { type: "string", default: "2" },
    "probe-facts": { type: "string", default: "2" },
    keys: { type: "string", default: "cities" },
    "eval-every": { type: "string", default: "25" },
    "eval-rows": { type: "string", default: "32" },
    save: { type: "string" },
    seed: { type: "string", default: "1" },
    dim: { type: "string", default: "256" },
    layers: { type: "string", default: "4" },
    heads: { type: "string", default: "4" },
    json: { type: "boolean", default: false },
  },
});
const L = Number(a.length),
  ROWS = Number(a.rows),
  STEPS = Number(a.steps),
  LR = Number(a.lr),
  MAX_FACTS = Number(a.facts),
  PROBE_FACTS = Number(a["probe-facts"]),
  EVAL_EVERY = Number(a["eval-every"]),
  EVAL_ROWS = Number(a["eval-rows"]);
if (a.keys !== "cities" && a.keys !== "names") throw new Error(`--keys ${a.keys}: cities or names`);
for (const [k, v] of Object.entries({ L, ROWS, STEPS, MAX_FACTS, PROBE_FACTS, EVAL_EVERY, EVAL_ROWS }))
  if (!Number.isInteger(v) || v < 0) throw new Error(`${k}: ${v} is not a whole number`);

const tok = await loadTokenizer();
const sentenceEnds = trainer.sentenceEndIds(tok);
const digitIds = new Set();
for (let id = 0; id < tok.vocabSize; id++) {
  try {
    if (/^\d$/.test(tok.pieceOf(id))) digitIds.add(id);
  } catch {
    // not every id has a piece (byte fallbacks)
  }
}
const booksIn = async (dir) => Promise.all(readdirSync(dir).map(async (f) => tok.encode(readFileSync(join(dir, f), "utf8"))));
const trainBooks = (await booksIn(join(here, "data", "train"))).filter((b) => b.length > 4 * L);
const [heldBook] = await booksIn(join(here, "data", "haystack"));
if (trainBooks.length === 0 || !heldBook) throw new Error("no books: run node datasets/tiny-lwm/prepare.mjs first");

// mulberry32 (@lwm/core): a plain `state * 1103515245` LCG loses bits past 2^53 in a double and
// falls into a short cycle, which repeats the training rows (the model then learns them by heart).
let u = mulberry32(Number(a.seed));

/**
 * One recall row of exactly L tokens (the needle layout, one asked fact). `measure` says which answer
 * tokens carry the loss: "train" (the whole answer and EOS, as pipelines/recall), or one probe.
 */
async function recallRow(pool, book, measure) {
  // Training rows plant 1..--facts facts; probe rows exactly --probe-facts, so that copying "the
  // number in the context" scores 1/--probe-facts and only a lookup by key scores more.
  const planted = measure === "train" ? 1 + Math.floor(u() * MAX_FACTS) : PROBE_FACTS;
  const facts = trainer.drawFacts(planted, Math.floor(u() * 2 ** 31), pool, pool === "train" ? a.keys : "cities");
  const asked = [facts[Math.floor(u() * planted)]];
  const answer = await tok.encode(trainer.RECALL_FACT.answer(asked));
  const P = L - answer.length - 1;
  const start = Math.floor(u() * (book.length - L));
  const prompt = await trainer.layoutRetrievalPrompt(tok, book.subarray(start, start + L), {
    facts,
    depths: facts.map(() => u()),
    asked,
    template: trainer.RECALL_FACT,
    contextTokens: P,
    sentenceEnds,
  });
  const tokens = new Uint32Array(L),
    loss = new Uint8Array(L);
  tokens.set(prompt.tokens);
  tokens.set(answer, P);
  tokens[L - 1] = tok.eosId;
  // The key's tokens: those the answer adds from just before the city to its end (from the template,
  // "The secret code of ‹city›", so a changed wording moves the span with it).
  const answerText = trainer.RECALL_FACT.answer(asked),
    cityAt = answerText.indexOf(asked[0].city);
  const keyFrom = P + (await tok.encode(answerText.slice(0, cityAt).trimEnd())).length,
    keyTo = P + (await tok.encode(answerText.slice(0, cityAt + asked[0].city.length))).length;
  for (let i = P, digit = 0; i < L; i++) {
    const isDigit = digitIds.has(tokens[i]);
    if (measure === "train") loss[i] = 1;
    else if (measure === "key") loss[i] = i >= keyFrom && i < keyTo ? 1 : 0;
    else loss[i] = isDigit && (measure === "digits" || (measure === "first") === (digit === 0)) ? 1 : 0;
    if (isDigit) digit++;
  }
  return oneSegmentRow(tokens, loss);
}

/** The same EVAL_ROWS prompts for every probe, so the four numbers describe the same answers. */
async function probeSet(measure) {
  const saved = u;
  u = mulberry32(0x5eed);
  const rows = [];
  // trainKey: the key probe on the training pool's keys (cities a model could have memorised, or names).
  const [pool, what] = measure === "trainKey" ? ["train", "key"] : ["eval", measure];
  for (let i = 0; i < EVAL_ROWS; i++) rows.push(await recallRow(pool, heldBook, what));
  u = saved;
  return rows;
}
const echoesKey = trainer.RECALL_FACT.answer([{ city: "Xq", number: "1234567" }]).includes("Xq");
const PROBES = echoesKey ? ["digits", "first", "rest", "key", "trainKey"] : ["digits", "first", "rest"];
const probeRows = {};
for (const m of PROBES) probeRows[m] = await probeSet(m); // one at a time: they share the generator's state

let cfg, params;
if (a.init) ({ dims: cfg, params } = await trainer.loadCheckpoint(a.init));
else {
  const dim = Number(a.dim);
  cfg = {
    vocabSize: tok.vocabSize,
    visionVocabSize: 0,
    dim,
    layers: Number(a.layers),
    heads: Number(a.heads),
    ffnDim: 8 * Math.round(dim / 3),
    normEps: 1e-5,
    ropeTheta: 10000,
  };
  params = initParams(cfg, 1);
}
const engine = await trainer.createEngine(cfg, { workers: 2, layout: "zigzag" });
const optimizer = new trainer.AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
const t0 = Date.now();

async function probe(step) {
  const acc = {};
  for (const m of PROBES) {
    const r = await engine.forward(params, probeRows[m], EVAL_ROWS, "text");
    acc[m] = r.textCorrect / r.textTargets;
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  if (a.json) console.log(JSON.stringify({ step, ...acc, seconds }));
  else
    console.log(
      `step ${step}: digits ${acc.digits.toFixed(3)} (first ${acc.first.toFixed(3)}, rest ${acc.rest.toFixed(3)})` +
        (echoesKey ? `, key ${acc.key.toFixed(3)} (training-pool keys ${acc.trainKey.toFixed(3)})` : "") +
        ` | ${seconds} s`,
    );
}

await probe(0);
for (let step = 1; step <= STEPS; step++) {
  const rows = [];
  for (let i = 0; i < ROWS; i++) rows.push(await recallRow("train", trainBooks[i % trainBooks.length], "train"));
  const r = await engine.forwardBackward(params, rows, ROWS, "text");
  clipGlobalNorm(r.grads, 1);
  optimizer.update(params, r.grads, LR * Math.min(1, step / Number(a.warmup)));
  if (!a.json && step % 5 === 0) console.log(`  step ${step}: train loss ${r.loss.toFixed(3)}`);
  if (step % EVAL_EVERY === 0 || step === STEPS) {
    await probe(step);
    if (a.save)
      await trainer.saveCheckpoint(a.save, {
        params,
        cfg,
        config: trainer.toHfConfig(cfg, Math.max(L, 2048), { bosId: tok.bosId, eosId: tok.eosId, padId: 0 }) /* the pack step's pad id */,
        state: { step },
      });
  }
}
await engine.close();
