import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AtomicFileWriter, isTempName, tempPathFor, writeFileAtomic, writeJsonAtomic } from "./atomic.js";
import { listFiles, publishDir } from "./publish.js";

describe("atomic writes", () => {
  it("writeFileAtomic replaces the file and leaves no temp behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "core-atomic-"));
    const path = join(dir, "sub", "a.txt");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    expect(await readFile(path, "utf8")).toBe("two");
    expect(await readdir(join(dir, "sub"))).toEqual(["a.txt"]);
  });

  it("writeJsonAtomic writes sorted keys so equal values give equal bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "core-atomic-"));
    await writeJsonAtomic(join(dir, "a.json"), { b: 1, a: 2 });
    await writeJsonAtomic(join(dir, "b.json"), { a: 2, b: 1 });
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe(await readFile(join(dir, "b.json"), "utf8"));
  });

  it("AtomicFileWriter shows nothing until commit, and abort leaves nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "core-atomic-"));
    const w = await AtomicFileWriter.create(join(dir, "big.bin"));
    await w.write("hello ");
    await w.write(new TextEncoder().encode("world"));
    expect((await readdir(dir)).filter((n) => n === "big.bin")).toEqual([]);
    await w.commit();
    expect(await readFile(join(dir, "big.bin"), "utf8")).toBe("hello world");
    const a = await AtomicFileWriter.create(join(dir, "gone.bin"));
    await a.write("x");
    await a.abort();
    expect((await readdir(dir)).sort()).toEqual(["big.bin"]);
  });

  it("temp names are recognisable", () => {
    expect(isTempName(tempPathFor("/x/y/file.json"))).toBe(true);
    expect(isTempName(tempPathFor("/x/y/folder", "old"))).toBe(true);
    expect(isTempName("file.json")).toBe(false);
  });

  it("publishDir swaps a whole folder, and a failed build keeps the old one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "core-publish-"));
    const target = join(dir, "examples");
    await publishDir(target, async (t) => writeFile(join(t, "a"), "1"));
    await publishDir(target, async (t) => {
      await mkdir(join(t, "sub"));
      await writeFile(join(t, "sub", "b"), "2");
    });
    expect((await listFiles(target)).map((f) => f.path)).toEqual(["sub/b"]);
    expect(await readdir(dir)).toEqual(["examples"]);
    await expect(
      publishDir(target, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect((await listFiles(target)).map((f) => f.path)).toEqual(["sub/b"]);
    expect(await readdir(dir)).toEqual(["examples"]);
  });
});
