import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { MANIFEST_FILE, readManifest } from "../manifest.js";

/**
 * The shard files a target names: a shard itself; a manifest's shards (in manifest order); a
 * directory's manifest shards, or its .arrow files sorted by name when it has no manifest.
 * Throws (ENOENT …) when the target does not exist or names no shards.
 */
export async function shardPaths(target: string): Promise<string[]> {
  const info = await stat(target);
  if (info.isDirectory()) {
    const manifest = join(target, MANIFEST_FILE);
    if (await stat(manifest).then(() => true, () => false)) return shardPaths(manifest);
    const files = (await readdir(target)).filter((f) => f.endsWith(".arrow")).sort();
    if (files.length === 0) throw new Error(`${target}: no ${MANIFEST_FILE} and no .arrow shards in this directory`);
    return files.map((f) => join(target, f));
  }
  if (target.endsWith(".json")) {
    const manifest = await readManifest(target);
    return manifest.shards.map((s) => join(dirname(target), s.file));
  }
  return [target];
}
