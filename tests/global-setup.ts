/** vitest's global setup for the end-to-end tests: the folder of the shared sample run (sample-run.ts). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    sampleRunDir: string;
  }
}

/** An empty folder for the shared run, removed after the last file; nothing runs until a file asks (sampleRun). */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "lwm-sample-run-"));
  project.provide("sampleRunDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
