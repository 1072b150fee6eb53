import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, silentLogger, WorkerPool, type StepContext } from "@lwm/core";
import { Recipe } from "@lwm/schemas";
import { packStep } from "./step.js";

// The happy path (books → pack → lwm validate) runs in tests/main-job.test.ts on the sample data;
// here: a plan that cannot work stops before any unit runs, naming the recipe field.
describe("packStep.plan", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "lwm-pack-step-"));
  });
  afterAll(async () => rm(out, { recursive: true, force: true }));

  it("refuses a stage whose mixture source no step has published examples for, naming the field", async () => {
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "t",
      sources: [{ kind: "books", name: "pg19", paths: ["books/"] }],
      stages: [{ name: "s2k", seqLen: 2048, ropeTheta: 1e6, mixture: { pg19: 1 } }],
    });
    const ctx: StepContext = {
      recipe,
      recipeDir: out,
      outDir: out,
      stepDir: join(out, "work", "pack"),
      logger: silentLogger,
      threads: 1,
      pool: new WorkerPool(0),
    };
    const planned = packStep.plan(ctx);
    await expect(planned).rejects.toBeInstanceOf(ConfigError);
    await expect(planned).rejects.toMatchObject({ field: "stages[0].mixture.pg19" });
    await expect(planned).rejects.toThrow(
      /no step has published examples of source "pg19" for stage "s2k" \(work\/<step>\/examples\/s2k\/ under .*\): run \(and finalize\) the step that produces it first/,
    );
  });
});
