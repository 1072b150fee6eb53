/**
 * A bad recipe stops `lwm run` before any work, with an error naming the field; bad arguments are
 * usage errors (exit 2).
 */
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recipeOf, writeRecipe, writeTxtFixtures } from "./books-helpers.js";
import { lwm } from "./cli.js";

async function attempt(mutate: (recipe: Record<string, unknown>) => void): Promise<{ code: number | null; stderr: string; workDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "books-recipe-"));
  await writeTxtFixtures(join(dir, "data"), 1, 200);
  const recipe = recipeOf({ sources: [{ kind: "books", name: "gen", paths: ["data"] }] }) as unknown as Record<string, unknown>;
  mutate(recipe);
  const path = await writeRecipe(dir, recipe);
  const r = await lwm(["run", "--steps", "books", path, "--out", join(dir, "out")]);
  return { code: r.code, stderr: r.stderr, workDir: join(dir, "out", "work") };
}

describe("lwm run: bad recipes stop before any work", () => {
  type Json = Record<string, unknown>;
  const patchItem = (key: "stages" | "sources", i: number, patch: Json) => (r: Json) => {
    const list = r[key] as Json[];
    list[i] = { ...list[i], ...patch };
  };
  it.each<[string, (r: Json) => void, RegExp]>([
    ["a too-small seqLen", patchItem("stages", 1, { seqLen: 8 }), /stages\[1\]\.seqLen: Too small/],
    ["an unknown mixture source", patchItem("stages", 0, { mixture: { nope: 1 } }), /stages\[0\]\.mixture\.nope: unknown source "nope"/],
    ["a wrong books config type", (r) => (r.steps = { books: { dedup: "yes" } }), /steps\.books\.dedup: Invalid input: expected boolean/],
    ["maxTokens below minTokens", patchItem("stages", 1, { minTokens: 10, maxTokens: 5 }), /stages\[1\]\.maxTokens: maxTokens must be >= minTokens/],
    ["a missing input path", patchItem("sources", 0, { paths: ["data", "missing.txt"] }), /sources\[0\]\.paths\[1\]: no such file or folder: missing.txt/],
    ["a file of unknown format", patchItem("sources", 0, { paths: ["recipe.json"] }), /sources\[0\]\.paths\[0\]: cannot tell the format of recipe.json/],
  ])(
    "%s",
    async (_name, mutate, message) => {
      const r = await attempt(mutate);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/invalid recipe/);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(r.workDir, "books", "units"))).toBe(false);
    },
    30_000,
  );

  it("usage errors exit 2", async () => {
    expect((await lwm(["run"])).code).toBe(2);
    expect((await lwm(["run", "--steps", "books", "x.json", "--task-index", "3", "--task-count", "3"])).stderr).toMatch(
      /--task-index must be an integer in \[0, 2\]/,
    );
    expect((await lwm(["run", "--steps", "books", "x.json", "--task-index", "1"])).stderr).toMatch(/--task-index and --task-count go together/);
    expect((await lwm(["run", "--steps", "books", "x.json", "--steps", "books,nope"])).stderr).toMatch(/unknown step\(s\) nope/);
    expect((await lwm(["run", "--steps", "books", "/nonexistent/recipe.json"])).code).toBe(2);
  });
});
