import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, WorkerPool, type StepContext } from "@lwm/core";
import { Recipe } from "@lwm/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { booksStep } from "./step.js";

// A unit whose key did not change is not run again (core's runStep), so a setting that changes a
// unit's bytes must change its key, and one that does not must leave the key alone.
describe("books unit keys", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lwm-books-keys-"));
    await mkdir(join(dir, "books"));
    await writeFile(join(dir, "books", "a.txt"), "It was a dark and stormy night.\n\nThe rain fell in torrents.\n");
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** The tokenize and window unit keys of the plan of a one-book recipe with `books` step settings. */
  async function keysOf(books: Record<string, unknown>, seqLen = 2048): Promise<{ tokenize: string[]; window: string[] }> {
    const recipe = Recipe.parse({
      formatVersion: 1,
      name: "keys",
      sources: [{ kind: "books", name: "pg19", paths: ["books/"] }],
      stages: [{ name: "s", seqLen, ropeTheta: 1e6, mixture: { pg19: 1 } }],
      steps: { books },
    });
    const ctx: StepContext = {
      recipe,
      recipeDir: dir,
      outDir: join(dir, "out"),
      stepDir: join(dir, "out", "work", "books"),
      logger: silentLogger,
      threads: 1,
      pool: new WorkerPool(0),
    };
    const { units } = await booksStep.plan(ctx);
    const keys = (kind: string) => units.filter((u) => u.label.startsWith(`${kind} `)).map((u) => u.key);
    return { tokenize: keys("tokenize"), window: keys("window") };
  }

  it("change with a cleaning setting (stripGutenberg, minChars) and with the stage's window settings", async () => {
    const base = await keysOf({});
    expect(base.tokenize).toHaveLength(1);
    expect(base.window).toHaveLength(1);
    for (const changed of [{ stripGutenberg: false }, { minChars: 2 }, { maxDocumentBytes: 1 << 20 }, { tokenizeBatchChars: 1 << 20 }]) {
      const keys = await keysOf(changed);
      expect(keys.tokenize[0], JSON.stringify(changed)).not.toBe(base.tokenize[0]);
      // A window unit reads its tokenize unit's documents: new documents, new windows.
      expect(keys.window[0], JSON.stringify(changed)).not.toBe(base.window[0]);
    }
    const longer = await keysOf({}, 4096);
    expect(longer.tokenize).toEqual(base.tokenize);
    expect(longer.window[0]).not.toBe(base.window[0]);
  });

  it("stay the same for settings that do not change a unit's bytes (dedup is finalize's; a .txt is one part whatever unitBytes)", async () => {
    const base = await keysOf({});
    expect(await keysOf({ dedup: false })).toEqual(base);
    expect(await keysOf({ unitBytes: 1024 })).toEqual(base);
    // Defaults spelled out are the same settings.
    expect(await keysOf({ stripGutenberg: true, minChars: 1 })).toEqual(base);
  });
});
