/**
 * What the two learning probes (lookup-probe.mjs, mqar.mjs) share: the built packages they load
 * (after `npm run build`) and the one-segment text row they train and measure on.
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const load = (path) => import(pathToFileURL(join(root, path)).href);

export const trainer = await load("trainer/dist/index.js");
export const { loadTokenizer } = await load("packages/tokenizer/dist/index.js");
export const { mulberry32 } = await load("packages/core/dist/index.js");
// Internal to the trainer package (not in its public index): a fresh model's weights and clipping.
export const { initParams } = await load("trainer/dist/model/params.js");
export const { clipGlobalNorm } = await load("trainer/dist/optim/adamw.js");

/** A row holding one text segment, its loss averaged over the marked tokens (as the pack step weights a segment). */
export function oneSegmentRow(tokens, loss) {
  const targets = loss.reduce((s, x) => s + x, 0);
  return {
    tokens,
    vision: new Uint8Array(tokens.length),
    loss,
    cuSeqlens: Int32Array.from([0, tokens.length]),
    weightText: Float32Array.from([1 / targets]),
    weightVision: new Float32Array(1),
  };
}
