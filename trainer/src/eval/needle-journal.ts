/**
 * The resume journal of a needle evaluation (<out>/needle.cells.jsonl): one line per finished cell,
 * appended as soon as the cell is done, so an interrupted run (kill, preemption) loses at most the
 * cell in flight. Each line names the settings it was run with (`settings`: a hash of checkpoint
 * weights, haystack, tokenizer, template, seed and decoding length); a rerun with the same settings
 * skips the cells already in the file, and a file written with other settings is refused.
 */
import { appendFile, readFile } from "node:fs/promises";
import { writeFileAtomic } from "@lwm/core";
import { NeedleEvalRecord } from "@lwm/schemas";
import { z } from "zod";
import { NeedleEvalInputError } from "./haystack.js";
import { cellKey } from "./needle-run.js";

export const JOURNAL_FILE = "needle.cells.jsonl";

const JournalLine = z.object({ settings: z.string(), record: NeedleEvalRecord, answers: z.array(z.string()) });
type JournalLine = z.infer<typeof JournalLine>;

export interface NeedleJournal {
  /** Finished cells by cellKey. */
  done: Map<string, NeedleEvalRecord>;
  append(record: NeedleEvalRecord, answers: string[]): Promise<void>;
}

/**
 * Opens (or starts) the journal at `path`. A last line cut short by a kill is dropped (the file is
 * rewritten without it); any other unreadable line, or one with other settings, is an error that
 * names the file and line.
 */
export async function openNeedleJournal(path: string, settings: string): Promise<NeedleJournal> {
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  // The piece after the last newline is empty, or a line a kill cut short: either way it is dropped.
  const complete = text.split("\n").slice(0, -1);
  const kept: JournalLine[] = [];
  complete.forEach((line, i) => {
    let parsed: ReturnType<typeof JournalLine.safeParse>;
    try {
      parsed = JournalLine.safeParse(JSON.parse(line));
    } catch {
      throw new NeedleEvalInputError(`${path}: line ${i + 1} is not JSON (delete the file to start over)`);
    }
    if (!parsed.success) throw new NeedleEvalInputError(`${path}: line ${i + 1}: not a needle cell record (delete the file to start over)`);
    if (parsed.data.settings !== settings) {
      throw new NeedleEvalInputError(
        `${path}: line ${i + 1} was run with other settings (checkpoint, haystack, tokenizer, template, seed or --max-new): use another --out, or delete the file to start over`,
      );
    }
    kept.push(parsed.data);
  });
  const body = kept.map((l) => JSON.stringify(l) + "\n").join("");
  if (body !== text) await writeFileAtomic(path, body);
  const done = new Map(kept.map((l) => [cellKey(l.record), l.record]));
  return {
    done,
    append: async (record, answers) => {
      await appendFile(path, JSON.stringify({ settings, record, answers } satisfies JournalLine) + "\n");
      done.set(cellKey(record), record);
    },
  };
}
