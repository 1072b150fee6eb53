import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { MANIFEST_FILE, readManifest, stageManifestsIn } from "../manifest.js";

/** The shards of one stage folder (or of whatever single target was named), in reading order. */
export interface ShardGroup {
  /** The stage folder's name when the target is an output root; null for any other target. */
  stage: string | null;
  paths: string[];
}

/**
 * The shard files a target names: a shard itself; a manifest's shards (in manifest order); a
 * directory's manifest shards, or its .arrow files sorted by name when it has no manifest.
 * Throws (ENOENT …) when the target does not exist or names no shards.
 */
export async function shardPaths(target: string): Promise<string[]> {
  const info = await stat(target);
  if (info.isDirectory()) {
    const manifest = join(target, MANIFEST_FILE);
    if (
      await stat(manifest).then(
        () => true,
        () => false,
      )
    )
      return shardPaths(manifest);
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

/**
 * What `lwm validate` takes, as groups of shards: an output root (`lwm run --out DIR`: no manifest
 * and no .arrow files of its own) gives one group per `<stage>/manifest.json` under it, sorted by
 * stage folder; any other target is one group (see shardPaths).
 */
export async function shardGroups(target: string): Promise<ShardGroup[]> {
  const info = await stat(target);
  if (info.isDirectory()) {
    const own = (await readdir(target)).some((f) => f === MANIFEST_FILE || f.endsWith(".arrow"));
    if (!own) {
      const stages = await stageManifestsIn(target);
      if (stages.length === 0) throw new Error(`${target}: no ${MANIFEST_FILE}, no .arrow shards and no <stage>/${MANIFEST_FILE} in this directory`);
      return Promise.all(stages.map(async (m) => ({ stage: basename(dirname(m)), paths: await shardPaths(m) })));
    }
  }
  return [{ stage: null, paths: await shardPaths(target) }];
}
