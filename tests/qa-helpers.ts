/** Helpers of the QA end-to-end tests: generated books and `lwm` children that do not block the test's loopback server. */
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI, repoRoot, type CliResult } from "./books-helpers.js";

/** `lwm <args>` in a child process without blocking this one (the loopback server lives here). */
export function lwmChild(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, done: new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr }))) };
}

export const lwmAsync = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> => lwmChild(args, env).done;

/** Polls `condition` every 50 ms until it holds (the test's own timeout bounds the wait). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(50);
}

const FIRST = ["Eliza", "Jonas", "Mara", "Tobias", "Ada", "Silas", "Nell", "Owen", "Ivy", "Basil", "Greta", "Rufus", "Clara", "Felix", "Hugo"];
const LAST = ["Harwood", "Pike", "Quill", "Wren", "Finch", "Marsh", "Rook", "Crane", "Stone", "Hale", "Moss", "Lark", "Vane"];
const PLACES = [
  "Port Alder",
  "Kestrel Bay",
  "Salt Harbour",
  "Whitby Cove",
  "Ravensend",
  "Mill Haven",
  "Thornquay",
  "Ashmouth",
  "Brinemoor",
  "Fenwick",
  "Larkspur",
];
const THINGS = [
  "silver compass",
  "torn map",
  "brass key",
  "green bottle",
  "wooden flute",
  "red scarf",
  "iron bell",
  "glass eye",
  "cracked mirror",
  "tin whistle",
  "leather purse",
];

/** A generated book: chapters whose names, places, years and objects rarely repeat. */
export function book(seed: number, chapters: number): string {
  const parts: string[] = [];
  for (let i = 0; i < chapters; i++) {
    const k = seed * 31 + i;
    const who = `${FIRST[k % FIRST.length]} ${LAST[(k * 7) % LAST.length]}`;
    const friend = FIRST[(k * 11 + 3) % FIRST.length];
    parts.push(
      `Chapter ${i + 1}\n\nIn the spring of ${1700 + k}, ${who} left ${PLACES[k % PLACES.length]} with ${12 + (k % 40)} sailors and a ${THINGS[k % THINGS.length]}. ` +
        `The crossing to ${PLACES[(k + 4) % PLACES.length]} lasted ${3 + (k % 9)} weeks, and ${friend} kept the log in a careful hand. ` +
        `Some evenings the crew argued about the weather, the wages and the food. ` +
        `When they finally arrived, a harbourmaster called ${LAST[(k * 3 + 1) % LAST.length]} asked for ${k % 7 === 0 ? "seven" : k % 2 === 0 ? "nine" : "four"} silver coins.\n`,
    );
  }
  return parts.join("\n");
}

/** The parts of a step report (`lwm run --json`) the QA tests read. */
export interface StepReportJson {
  step: string;
  ok: boolean;
  units: { executed: number; skipped: number };
  metrics: { total: Record<string, number>; executed: Record<string, number> };
  rejects: { byReason: Record<string, number> };
  details: { sources?: Record<string, { counters: Record<string, number> }> } | null;
}
