import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { stableStringify, type JsonValue } from "./hash.js";

/**
 * A sibling temp path (same directory, so the final rename stays on one filesystem); "old" names
 * the place a replaced folder is moved aside to while its successor is renamed in.
 */
export function tempPathFor(path: string, kind: "tmp" | "old" = "tmp"): string {
  return join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** True for names made by tempPathFor: left behind only by a crash. */
export function isTempName(name: string): boolean {
  return /\.(tmp|old)-\d+-[0-9a-f]{8}$/.test(name);
}

/** fsyncs a file or a folder (a folder's fsync makes the names in it, e.g. after a rename, durable). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes to a temp file, fsyncs and renames it into place: readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** `writeFileAtomic` of stable JSON (sorted keys, trailing newline): equal values give equal bytes. */
export async function writeJsonAtomic(path: string, value: JsonValue, pretty = true): Promise<void> {
  const text = pretty ? JSON.stringify(JSON.parse(stableStringify(value)), null, 2) : stableStringify(value);
  await writeFileAtomic(path, `${text}\n`);
}

/**
 * A file written in pieces (for outputs too large to hold in memory). Nothing is visible at `path`
 * until `commit()`; `abort()` removes the temp file.
 */
export class AtomicFileWriter {
  private readonly temp: string;
  private readonly stream: WriteStream;
  private done = false;

  private constructor(readonly path: string) {
    this.temp = tempPathFor(path);
    this.stream = createWriteStream(this.temp);
  }

  static async create(path: string): Promise<AtomicFileWriter> {
    await mkdir(dirname(path), { recursive: true });
    return new AtomicFileWriter(path);
  }

  /** Appends bytes, waiting for the stream to drain when its buffer is full (bounded memory). */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once("drain", resolve));
  }

  async commit(): Promise<void> {
    if (this.done) throw new Error(`${this.path}: already committed or aborted`);
    this.done = true;
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fsyncPath(this.temp);
    await rename(this.temp, this.path);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    await rm(this.temp, { force: true });
  }
}
