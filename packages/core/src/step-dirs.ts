import { join } from "node:path";

/** The output root's folder of pipeline work: <out>/work/<step>/ per step. */
export const WORK_DIR = "work";

/** What a step publishes for later steps, each in its own folder of the step's work folder. */
export const STEP_OUTPUTS = { examples: "examples", documents: "documents" } as const;
export type StepOutput = keyof typeof STEP_OUTPUTS;

/** <out>/work/<step>: a step's units, report, rejects and published outputs. */
export function stepWorkDir(outDir: string, step: string): string {
  return join(outDir, WORK_DIR, step);
}

/**
 * Where a step publishes an output that other steps read (schemas/EXAMPLES.md):
 * `<out>/work/<step>/documents/`, `<out>/work/<step>/examples/`, or one stage's
 * `<out>/work/<step>/examples/<stage>/`. Producers write and consumers look only through here.
 */
export function stepOutputDir(outDir: string, step: string, output: "documents"): string;
export function stepOutputDir(outDir: string, step: string, output: "examples", stage?: string): string;
export function stepOutputDir(outDir: string, step: string, output: StepOutput, stage?: string): string {
  const dir = join(stepWorkDir(outDir, step), STEP_OUTPUTS[output]);
  return stage === undefined ? dir : join(dir, stage);
}
