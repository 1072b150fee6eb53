import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, posix, resolve } from "node:path";
import { ConfigError } from "@lwm/core";
import type { BooksSource } from "@lwm/schemas";
import type { InputFormat } from "./tokenize-unit.js";

/** One input file of a books source, as planned. */
export interface SourceFile {
  /** Index of the source in recipe.sources. */
  sourceIndex: number;
  source: BooksSource;
  /** Absolute path. */
  path: string;
  /** Path as the recipe names it (given path, joined with the relative path below a given folder). */
  name: string;
  format: InputFormat;
  bytes: number;
}

const EXTENSIONS: [RegExp, InputFormat][] = [
  [/\.txt$/i, "txt"],
  [/\.(jsonl|ndjson)(\.gz|\.zst)?$/i, "jsonl"],
  [/\.parquet$/i, "parquet"],
  [/\.epub$/i, "epub"],
];

export function formatOfName(name: string): InputFormat | undefined {
  return EXTENSIONS.find(([re]) => re.test(name))?.[1];
}

/**
 * The files of every books source, in a deterministic order: sources in recipe order, paths in the
 * order given, folders walked recursively in sorted order (files whose extension is not a books
 * format are skipped there). A missing path, or a named file of unknown format, is a ConfigError
 * naming the recipe field.
 */
export async function listSourceFiles(sources: readonly { source: BooksSource; index: number }[], recipeDir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const { source, index } of sources) {
    for (const [j, given] of source.paths.entries()) {
      const field = `sources[${index}].paths[${j}]`;
      const abs = isAbsolute(given) ? given : resolve(recipeDir, given);
      let info;
      try {
        info = await stat(abs);
      } catch {
        throw new ConfigError(field, `no such file or folder: ${given} (resolved to ${abs})`);
      }
      if (info.isDirectory()) {
        const found = await walk(abs);
        for (const rel of found) {
          const format = source.format === "auto" ? formatOfName(rel) : formatOfName(rel) === undefined ? undefined : source.format;
          if (!format) continue;
          const path = join(abs, rel);
          out.push({ sourceIndex: index, source, path, name: posix.join(given.split("\\").join("/"), rel), format, bytes: (await stat(path)).size });
        }
      } else {
        const format = source.format === "auto" ? formatOfName(given) : source.format;
        if (!format) throw new ConfigError(field, `cannot tell the format of ${given} from its name; set sources[${index}].format`);
        out.push({ sourceIndex: index, source, path: abs, name: given, format, bytes: info.size });
      }
    }
  }
  return out;
}

async function walk(dir: string, prefix = ""): Promise<string[]> {
  const entries = (await readdir(join(dir, prefix), { withFileTypes: true }))
    .filter((e) => !e.name.startsWith("."))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}
