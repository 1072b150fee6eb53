/**
 * Which VQ model folder decodes a stage: the one named with --vqgan, else the recipe's `vqgan`
 * (a folder relative to the recipe, as the vision step reads it).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";

/** The one recipe field this needs; the rest of the recipe is the pipeline's business. */
const RecipeVqgan = z.object({ vqgan: z.string().min(1).optional() });

export async function vqModelDir(o: { vqgan?: string; recipe?: string }): Promise<string> {
  if (o.vqgan !== undefined) return resolve(o.vqgan);
  if (o.recipe === undefined) throw new Error("decoding vision blocks needs the VQ model folder: --vqgan DIR, or --recipe recipe.json whose `vqgan` names it");
  let json: unknown;
  try {
    json = JSON.parse(await readFile(o.recipe, "utf8"));
  } catch (err) {
    throw new Error(`${o.recipe}: ${(err as Error).message}`);
  }
  const parsed = RecipeVqgan.safeParse(json);
  if (!parsed.success) throw new Error(`${o.recipe}: vqgan: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  if (parsed.data.vqgan === undefined) throw new Error(`${o.recipe} names no VQ model (no \`vqgan\` field): give --vqgan DIR`);
  return resolve(dirname(o.recipe), parsed.data.vqgan);
}
