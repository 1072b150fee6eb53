import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { WorkerPool } from "./worker-pool.js";

// The pool starts dist/worker-entry.js; run `npx tsc -p tsconfig.build.json` before the tests.
async function taskModule(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "core-pool-"));
  const file = join(dir, "task.mjs");
  await writeFile(
    file,
    `import { threadId } from "node:worker_threads";
export async function square(n) { if (n < 0) throw new Error("negative " + n); let s = 0; for (let i = 0; i < 2e6; i++) s += i % 3; return { n2: n * n, threadId, s }; }`,
  );
  return pathToFileURL(file).href;
}

describe("WorkerPool", () => {
  it("runs tasks on at most `size` worker threads and returns their results", async () => {
    const distModule = new URL("../dist/worker-pool.js", import.meta.url).href;
    const { WorkerPool: DistPool } = (await import(distModule)) as { WorkerPool: new (size: number) => Pick<WorkerPool, "run" | "close"> };
    const url = await taskModule();
    const pool = new DistPool(2);
    try {
      const results = (await Promise.all([1, 2, 3, 4, 5].map((n) => pool.run(url, "square", n)))) as { n2: number; threadId: number }[];
      expect(results.map((r) => r.n2)).toEqual([1, 4, 9, 16, 25]);
      const threads = new Set(results.map((r) => r.threadId));
      expect(threads.has(0)).toBe(false);
      expect(threads.size).toBeLessThanOrEqual(2);
      await expect(pool.run(url, "square", -1)).rejects.toThrow(/negative -1 \(in worker: square\)/);
      await expect(pool.run(url, "missing", 1)).rejects.toThrow(/no exported function "missing"/);
      expect(((await pool.run(url, "square", 6)) as { n2: number }).n2).toBe(36);
    } finally {
      await pool.close();
    }
  });

  it("size 0 runs on the calling thread", async () => {
    const pool = new WorkerPool(0);
    const r = (await pool.run(await taskModule(), "square", 3)) as { n2: number; threadId: number };
    expect(r).toMatchObject({ n2: 9, threadId: 0 });
  });
});
