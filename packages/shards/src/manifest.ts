import { readdir, readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "@lwm/core";
import { join } from "node:path";
import { formatZodError, Manifest, type ShardEntry } from "@lwm/schemas";

export const MANIFEST_FILE = "manifest.json";

/** Manifest totals summed from its shard entries (fill = realTokens / tokens, 0 when empty). */
export function manifestTotals(shards: readonly ShardEntry[]): Manifest["totals"] {
  const t = { rows: 0, tokens: 0, realTokens: 0, lossTokens: 0, segments: 0, fill: 0 };
  for (const s of shards) {
    t.rows += s.rows;
    t.tokens += s.tokens;
    t.realTokens += s.realTokens;
    t.lossTokens += s.lossTokens;
    t.segments += s.segments;
  }
  t.fill = t.tokens === 0 ? 0 : t.realTokens / t.tokens;
  return t;
}

/** Validates `manifest` and writes it to `<dir>/manifest.json` atomically (core's writeFileAtomic). Returns the path. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<string> {
  const parsed = Manifest.safeParse(manifest);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, `manifest for ${dir}`));
  const path = join(dir, MANIFEST_FILE);
  await writeFileAtomic(path, JSON.stringify(parsed.data, null, 2) + "\n");
  return path;
}

/** Reads and validates a manifest.json; the error names the file and the bad field. */
export async function readManifest(path: string): Promise<Manifest> {
  const text = await readFile(path, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON (${(err as Error).message})`);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) throw new Error(formatZodError(parsed.error, path));
  return parsed.data;
}

/** An output root (`lwm run --out DIR`): the manifest of every stage folder directly under it, sorted by folder name. */
export async function stageManifestsIn(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const found: string[] = [];
  for (const name of entries) {
    const path = join(dir, name, MANIFEST_FILE);
    if (
      await stat(path).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      found.push(path);
  }
  return found;
}
