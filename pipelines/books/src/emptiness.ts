import type { CompletedUnit } from "@lwm/core";
import type { Recipe } from "@lwm/schemas";
import type { PlannedStage, PlannedTokenizeUnit } from "./finalize.js";

/** A numeric field of a unit's result (tokenize: documents; window: examples), 0 when absent. */
function resultCount(unit: CompletedUnit | undefined, field: string): number {
  const result = unit?.record.result;
  if (result === null || typeof result !== "object" || Array.isArray(result)) return 0;
  const value = (result as Record<string, unknown>)[field];
  return typeof value === "number" ? value : 0;
}

/**
 * A books source of which nothing was accepted, or a stage that received no example, is almost
 * always a mistake (a misspelt textField, a token band no document falls in, a folder of links to
 * nowhere): it fails the step, naming the field, unless the recipe says `allowEmpty: true` there.
 */
export function emptinessProblems(
  recipe: Recipe,
  completed: readonly CompletedUnit[],
  tokenizeUnits: readonly PlannedTokenizeUnit[],
  stages: readonly PlannedStage[],
): string[] {
  const byKey = new Map(completed.map((c) => [c.unit.key, c]));
  const problems: string[] = [];
  recipe.sources.forEach((source, i) => {
    if (source.kind !== "books" || source.allowEmpty) return;
    const units = tokenizeUnits.filter((t) => t.sourceNames.includes(source.name)).map((t) => byKey.get(t.key));
    const documents = units.reduce((n, u) => n + resultCount(u, "documents"), 0);
    if (documents > 0) return;
    const rejected = units.reduce((n, u) => n + (u?.record.rejects.length ?? 0), 0);
    const what = units.length === 0 ? "no input file was found or readable" : `0 documents accepted, ${rejected} records rejected (see rejects.jsonl)`;
    problems.push(`sources[${i}] "${source.name}": nothing accepted: ${what}; set sources[${i}].allowEmpty to true to allow an empty source`);
  });
  recipe.stages.forEach((stage, i) => {
    const planned = stages.find((s) => s.name === stage.name);
    if (stage.allowEmpty || !planned || planned.sources.length === 0) return;
    const windowKeys = new Set(tokenizeUnits.flatMap((t) => t.windows.filter((w) => w.stage === stage.name).map((w) => w.key)));
    const examples = [...windowKeys].reduce((n, k) => n + resultCount(byKey.get(k), "examples"), 0);
    if (examples > 0) return;
    const band = `minTokens ${stage.minTokens}${stage.maxTokens !== undefined ? `, maxTokens ${stage.maxTokens}` : ""}`;
    problems.push(
      `stages[${i}] "${stage.name}": empty: no document of its sources (${planned.sources.join(", ")}) is within ${band}; set stages[${i}].allowEmpty to true to allow an empty stage`,
    );
  });
  return problems;
}
