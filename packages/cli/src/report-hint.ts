import { dirname, join, resolve } from "node:path";

/** Where `lwm report` puts the page for an output root. */
export const reportPath = (outDir: string): string => join(outDir, "report.html");

/**
 * The line `lwm run` and `lwm train` end with: where the report page goes and the command that
 * makes it. `lwm report` finds run folders at <out>/runs/<name>; any other is named with --runs.
 * A recipe with a VQ model is named with --recipe, so the page gets its vision contact sheets.
 */
export function reportHint(outDir: string, runDir?: string, visionRecipe?: string): string {
  const found = runDir === undefined || dirname(resolve(runDir)) === resolve(outDir, "runs");
  const runs = found ? "" : ` --runs ${runDir}`;
  const recipe = visionRecipe === undefined ? "" : ` --recipe ${visionRecipe}`;
  return `report: lwm report ${outDir}${runs}${recipe} writes ${reportPath(outDir)} (one page: stages, rejects, lineage${runDir === undefined ? "" : ", loss curves"})\n`;
}
