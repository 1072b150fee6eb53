import { resolve } from "node:path";
import { ConfigError, type StepContext } from "@lwm/core";
import { loadTokenizer, type Tokenizer } from "./tokenizer.js";

/**
 * The recipe's tokenizer (`recipe.tokenizer`, relative to the recipe's folder; default: the bundled
 * Llama-2 one). Every step that tokenizes or lays out a vocabulary loads it through here, so they
 * agree on the file and a bad path stops the run before any work, naming the field.
 */
export async function loadRecipeTokenizer(ctx: Pick<StepContext, "recipe" | "recipeDir">): Promise<Tokenizer> {
  const path = ctx.recipe.tokenizer === undefined ? undefined : resolve(ctx.recipeDir, ctx.recipe.tokenizer);
  try {
    return await loadTokenizer(path);
  } catch (err) {
    throw new ConfigError("tokenizer", err instanceof Error ? err.message : String(err));
  }
}
