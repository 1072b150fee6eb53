import { createHash } from "node:crypto";
import type { LlamaConfig, Params } from "../model/api.js";
import { paramShapes } from "../model/params.js";

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
