import { createHash } from "node:crypto";
import type { LlamaConfig, Params } from "../model/api.js";
import { paramShapes } from "../model/params.js";
import type { TrainPlan } from "./plan.js";

/**
 * Identifies what a run trains: the model section and every stage with its training settings, and
 * the ring layout (which changes the order of floating-point sums, so a resume under another P or
 * layout would not reproduce the uninterrupted run bit for bit).
 */
export function planSha256(plan: TrainPlan): string {
  const what = { model: plan.model ?? null, stages: plan.stages.map((s) => ({ stage: s.stage, steps: s.steps })), workers: plan.workers, layout: plan.layout };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex");
}

/** sha256 over the text model's tensors (paramShapes order): identifies the weights a stage starts from. */
export function paramsSha256(params: Params, cfg: LlamaConfig): string {
  const h = createHash("sha256");
  for (const name of paramShapes({ ...cfg, visionVocabSize: 0 }).keys()) {
    const a = params.get(name);
    if (!a) throw new Error(`paramsSha256: params lack ${name}`);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest("hex");
}
