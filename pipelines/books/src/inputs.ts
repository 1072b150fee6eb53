import { Dirent, type Stats } from "node:fs";
import { lstat, readdir, readlink, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, posix, resolve } from "node:path";
import { ConfigError, type RejectRecord } from "@lwm/core";
import type { BooksSource } from "@lwm/schemas";
import { fileKind, NotRegularFileError, openRegularFile } from "./sources/byte-stream.js";
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

/** The files of the books sources, and the inputs refused on the way (each with its reason). */
export interface SourceListing {
  files: SourceFile[];
  rejects: RejectRecord[];
}

/**
 * The files of every books source, in a deterministic order: sources in recipe order, paths in the
 * order given, folders walked recursively in sorted order (files whose extension is not a books
 * format are skipped there; names starting with "." too). Symbolic links are followed (the layout
 * of the Hugging Face cache, DVC and git-annex), a link back into a folder being walked is refused.
 * Only regular files are read: a FIFO, device or socket, an unreadable file or folder, or a broken
 * link becomes a reject with its reason, at once, and the run goes on. A missing path, or a named
 * file of unknown format, is a ConfigError naming the recipe field.
 */
export async function listSourceFiles(sources: readonly { source: BooksSource; index: number }[], recipeDir: string): Promise<SourceListing> {
  const files: SourceFile[] = [];
  const rejects: RejectRecord[] = [];
  for (const { source, index } of sources) {
    for (const [j, given] of source.paths.entries()) {
      const field = `sources[${index}].paths[${j}]`;
      const abs = isAbsolute(given) ? given : resolve(recipeDir, given);
      const givenName = given.split("\\").join("/");
      let info;
      try {
        info = await stat(abs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
          const link = await lstat(abs).catch(() => null);
          throw new ConfigError(
            field,
            link?.isSymbolicLink() ? `broken symbolic link: ${given} (resolved to ${abs})` : `no such file or folder: ${given} (resolved to ${abs})`,
          );
        }
        if (code === "ELOOP") throw new ConfigError(field, `symbolic link loop: ${given}`);
        rejects.push(refused(givenName, `unreadable: ${errorText(err)}`));
        continue;
      }
      if (info.isDirectory()) {
        const walked = await walk(abs, givenName, new Set([await realpath(abs)]));
        const folderRejects = walked.rejects;
        for (const entry of walked.files) {
          const format = source.format === "auto" ? formatOfName(entry.rel) : formatOfName(entry.rel) === undefined ? undefined : source.format;
          if (!format) continue;
          const path = join(abs, entry.rel);
          const name = posix.join(givenName, entry.rel);
          const problem = entry.kind === "file" ? await readProblem(path) : `not a regular file: ${entry.kind}`;
          if (problem) folderRejects.push(refused(name, problem));
          else files.push({ sourceIndex: index, source, path, name, format, bytes: entry.bytes });
        }
        rejects.push(...folderRejects.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)));
      } else {
        const format = source.format === "auto" ? formatOfName(given) : source.format;
        if (!format) throw new ConfigError(field, `cannot tell the format of ${given} from its name; set sources[${index}].format`);
        const problem = info.isFile() ? await readProblem(abs) : `not a regular file: ${fileKind(info)}`;
        if (problem) rejects.push(refused(givenName, problem));
        else files.push({ sourceIndex: index, source, path: abs, name: given, format, bytes: info.size });
      }
    }
  }
  return { files, rejects };
}

function refused(source: string, reason: string): RejectRecord {
  return { source, position: {}, reason };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a regular file cannot be read (permissions, I/O), or null when it can. */
async function readProblem(path: string): Promise<string | null> {
  try {
    const { handle } = await openRegularFile(path);
    await handle.close();
    return null;
  } catch (err) {
    if (err instanceof NotRegularFileError) return err.message;
    return `unreadable file: ${errorText(err)}`;
  }
}

interface WalkedEntry {
  rel: string;
  /** "file", or what else it is ("a FIFO (named pipe)", …). */
  kind: string;
  bytes: number;
}

/**
 * Everything below `dir`, sorted, links followed. `ancestors` holds the real paths of the folders
 * being walked, so a link back into one of them is refused instead of walked forever.
 */
async function walk(dir: string, name: string, ancestors: Set<string>, prefix = ""): Promise<{ files: WalkedEntry[]; rejects: RejectRecord[] }> {
  const out: { files: WalkedEntry[]; rejects: RejectRecord[] } = { files: [], rejects: [] };
  let entries;
  try {
    entries = await readdir(join(dir, prefix), { withFileTypes: true });
  } catch (err) {
    out.rejects.push(refused(prefix ? posix.join(name, prefix) : name, `unreadable folder: ${errorText(err)}`));
    return out;
  }
  entries = entries.filter((e) => !e.name.startsWith(".")).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    const path = join(dir, rel);
    let info: Stats | Dirent = e;
    if (e.isSymbolicLink()) {
      try {
        info = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const reason =
          code === "ENOENT"
            ? `broken symbolic link (to ${await readlink(path).catch(() => "?")})`
            : code === "ELOOP"
              ? "symbolic link loop"
              : `unreadable: ${errorText(err)}`;
        if (formatOfName(rel) !== undefined) out.rejects.push(refused(posix.join(name, rel), reason));
        continue;
      }
    }
    if (info.isDirectory()) {
      let real: string;
      try {
        real = await realpath(path);
      } catch (err) {
        out.rejects.push(refused(posix.join(name, rel), `unreadable folder: ${errorText(err)}`));
        continue;
      }
      if (ancestors.has(real)) {
        out.rejects.push(refused(posix.join(name, rel), `symbolic link loop: it leads back to ${real}, a folder being walked`));
        continue;
      }
      const inner = await walk(dir, name, new Set([...ancestors, real]), rel);
      out.files.push(...inner.files);
      out.rejects.push(...inner.rejects);
    } else if (info.isFile()) {
      out.files.push({ rel, kind: "file", bytes: info instanceof Dirent ? (await stat(path)).size : info.size });
    } else {
      out.files.push({ rel, kind: fileKind(info), bytes: 0 });
    }
  }
  return out;
}
