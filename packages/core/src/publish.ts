import { copyFile, link, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fsyncPath, tempPathFor } from "./atomic.js";
import { sha256File } from "./hash.js";

/**
 * Builds a folder's new contents in a sibling temp folder (`build` fills it), fsyncs every file and
 * folder in it, then swaps it in. Readers never see a half-written folder: before the swap they see
 * the old one, after it the new one (between the two renames the path is briefly absent, never
 * partial), and after a crash the folder is the old one or the whole new one. Leftovers of a crash
 * carry tempPathFor names (isTempName).
 */
export async function publishDir(path: string, build: (tempDir: string) => Promise<void>): Promise<void> {
  const parent = dirname(path);
  await mkdir(parent, { recursive: true });
  const temp = tempPathFor(path);
  await mkdir(temp);
  try {
    await build(temp);
    await fsyncTree(temp);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  const old = tempPathFor(path, "old");
  const hadOld = await exists(path);
  if (hadOld) await rename(path, old);
  await rename(temp, path);
  await fsyncPath(parent);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** fsyncs every file under `dir`, then each folder (children before parents). */
async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(full);
    else if (entry.isFile()) await fsyncPath(full);
  }
  await fsyncPath(dir);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Every plain file under `dir` (sorted, relative paths with "/"), with size and sha256. */
export async function listFiles(dir: string, prefix = ""): Promise<{ path: string; bytes: number; sha256: string }[]> {
  const out: { path: string; bytes: number; sha256: string }[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(full, rel)));
    else if (entry.isFile()) out.push({ path: rel, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  return out;
}

/**
 * Puts `from`'s bytes at `to`: a hard link where the file system allows one (published outputs are
 * large and never rewritten in place, so sharing the inode with the unit's copy is safe), else a copy.
 */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}
