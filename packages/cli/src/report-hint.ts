import { join, relative, resolve } from "node:path";

/** Where `lwm report` puts the page for an output root. */
export const reportPath = (outDir: string): string => join(outDir, "report.html");

/**
 * The line `lwm run` and `lwm train` end with: where the report page goes and the command that
 * makes it (a run folder outside <out>/runs/ is named with --runs).
 */
export function reportHint(outDir: string, runDir?: string): string {
  const found = runDir === undefined || !relative(resolve(outDir, "runs"), resolve(runDir)).startsWith("..");
  const runs = found ? "" : ` --runs ${runDir}`;
  return `report: lwm report ${outDir}${runs} writes ${reportPath(outDir)} (one page: stages, rejects, lineage${runDir === undefined ? "" : ", loss curves"})\n`;
}
