import { readFile } from "node:fs/promises";
import { z } from "zod";

/** A needle evaluation that cannot start: a bad flag value, a missing file, a bad journal. The CLI exits 2 with it. */
export class NeedleEvalInputError extends Error {}

const JsonlLine = z.object({ text: z.string() });

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err);
}

/**
 * The haystack text: `.txt` files, or `.jsonl` with a `text` field per line (PG-19 style), in
 * order, joined by blank lines, stopping once `chars` characters are collected.
 */
export async function readHaystack(files: readonly string[], chars: number): Promise<string> {
  const parts: string[] = [];
  let have = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new NeedleEvalInputError(`--haystack ${file}: ${reason(err)}`);
    }
    const docs = file.endsWith(".jsonl")
      ? text
          .split("\n")
          .filter((l) => l.trim())
          .map((line, i) => {
            let json: unknown;
            try {
              json = JSON.parse(line);
            } catch {
              throw new NeedleEvalInputError(`--haystack ${file}: line ${i + 1} is not JSON`);
            }
            const r = JsonlLine.safeParse(json);
            if (!r.success) throw new NeedleEvalInputError(`--haystack ${file}: line ${i + 1}: needs a string "text" field`);
            return r.data.text;
          })
      : [text];
    for (const d of docs) {
      parts.push(d);
      have += d.length;
      if (have >= chars) return parts.join("\n\n");
    }
  }
  return parts.join("\n\n");
}
