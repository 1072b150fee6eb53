#!/usr/bin/env node
/**
 * `node smoke-recipe.mjs recipe.json TRAIN_DIR > smoke.json`: the tiny-LWM recipe shrunk for a
 * smoke run (the test of run.sh, `TINY_LWM_SMOKE=1`): every seqLen ÷ 8 and at least 256 (512 → 256,
 * 2K → 256, 8K → 1K, 32K → 4K), recall examples sized by lengthFraction at least half a row (a shorter one
 * leaves no room for a haystack beside two facts and their question at 256), a one-layer model of width 32, two optimizer steps of two rows per stage, 64-token QA chunks,
 * a few hundred packed rows at most, and the books source pointed at TRAIN_DIR (absolute). The
 * stages, sources, mixtures, θ schedule and steps are the recipe's, so the smoke run exercises
 * exactly the pipeline the full run uses.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SMOKE_DIVISOR = 8;
const MIN_SMOKE_SEQ_LEN = 256;

export function smokeRecipe(recipe, trainDir) {
  const r = structuredClone(recipe);
  delete r.$schema;
  r.name = `${recipe.name}-smoke`;
  for (const s of r.sources) {
    if (s.kind === "books") s.paths = [resolve(trainDir)];
    if (s.kind === "qa") s.chunkTokens = 64;
    if (s.kind === "recall" && s.lengthFraction) s.lengthFraction = s.lengthFraction.map((f) => Math.max(0.5, f));
  }
  r.steps.pack = { ...r.steps.pack, rowsPerShard: 16, rowsPerBatch: 4 };
  for (const st of r.stages) {
    st.seqLen = Math.max(MIN_SMOKE_SEQ_LEN, st.seqLen / SMOKE_DIVISOR);
    st.budgetTokens = 24 * st.seqLen;
    st.training = {
      ...st.training,
      steps: 2,
      tokensPerBatch: 2 * st.seqLen,
      evalEvery: 0,
      evalRows: 1,
      checkpointEvery: 1,
      lr: { ...st.training.lr, warmupSteps: 1 },
    };
    delete st.training.tokens;
  }
  r.model = { dim: 32, layers: 1, heads: 2, ffnDim: 64 };
  return r;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [recipePath, trainDir] = process.argv.slice(2);
  if (!recipePath || !trainDir) {
    process.stderr.write("usage: node smoke-recipe.mjs recipe.json TRAIN_DIR > smoke.json\n");
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(smokeRecipe(JSON.parse(readFileSync(recipePath, "utf8")), trainDir), null, 2) + "\n");
}
