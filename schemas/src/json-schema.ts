/** Writes JSON Schema (draft 2020-12) for every on-disk file and config into schemas/json/. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { Manifest, ShardMetadata } from "./shard.js";
import { Recipe } from "./recipe.js";
import { NeedleEvalRecord } from "./needle.js";
import { Provenance } from "./provenance.js";
import { DocumentsIndex, ExamplesIndex } from "./example.js";

const schemas: Record<string, z.ZodType> = {
  recipe: Recipe,
  manifest: Manifest,
  "shard-metadata": ShardMetadata,
  provenance: Provenance,
  "needle-eval": NeedleEvalRecord,
  "examples-index": ExamplesIndex,
  "documents-index": DocumentsIndex,
};

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "json");
mkdirSync(out, { recursive: true });
for (const [name, schema] of Object.entries(schemas)) {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  writeFileSync(join(out, `${name}.schema.json`), JSON.stringify(json, null, 2) + "\n");
}
