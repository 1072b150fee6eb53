import { dirname, join, resolve } from "node:path";

/** Where `lwm report` puts the page for an output root. */
export const reportPath = (outDir: string): string => join(outDir, "report.html");

/**
 * The line `lwm run` and `lwm train` end with: where the report page goes and the command that
 * makes it. `lwm report` finds run folders at <out>/runs/<name>; any other is named with --runs.
 */
export function reportHint(outDir: string, runDir?: string): string {
  const found = runDir === undefined || dirname(resolve(runDir)) === resolve(outDir, "runs");
  const runs = found ? "" : ` --runs ${runDir}`;
  return `report: lwm report ${outDir}${runs} writes ${reportPath(outDir)} (one page: stages, rejects, lineage${runDir === undefined ? "" : ", loss curves"})\n`;
}
