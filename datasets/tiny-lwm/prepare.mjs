#!/usr/bin/env node
/**
 * Lays out the tiny-LWM recipe's inputs as two folders of symbolic links beside recipe.json:
 *
 *   data/train/     the books the recipe trains on (its books source reads this folder;
 *                   the qa and recall sources use those books' documents)
 *   data/haystack/  the book held out for the needle evaluation's haystack, never in data/train/
 *
 * From ../shared/data/books (the repository's sibling, or $LWM_BOOKS_DIR) when it is there: five
 * English novels to train on, A Tale of Two Cities held out. On a fresh clone without it: the
 * sample dataset's books, its lighthouse story held out (≈ 16K tokens: the 32K needle cells need
 * the shared books). The recipe never changes; only what the links point at. data/SOURCE says which.
 *
 *   node prepare.mjs [DATA_DIR] [--sample]     (--sample: the sample's books even when shared ones exist)
 * Exit 2 when a book is missing or a haystack file would also be a training file.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const SHARED = {
  train: [
    "pg1342_pride_and_prejudice_en.txt",
    "pg1661_adventures_of_sherlock_holmes_en.txt",
    "pg2701_moby_dick_en.txt",
    "pg84_frankenstein_en.txt",
    "pg11_alices_adventures_in_wonderland_en.txt",
  ],
  haystack: ["pg98_tale_of_two_cities_en.txt"],
};
export const SAMPLE = {
  train: ["short-stories.jsonl", "the-orchard-ledger.txt"],
  haystack: ["the-lighthouse-keeper.txt"],
};

export function chooseBooks(env = process.env, { sample = false } = {}) {
  if (sample) return { name: "sample", dir: resolve(here, "../sample/books"), ...SAMPLE };
  const shared = resolve(env.LWM_BOOKS_DIR ?? join(here, "../../../shared/data/books"));
  if (SHARED.train.concat(SHARED.haystack).every((f) => existsSync(join(shared, f)))) return { name: "shared", dir: shared, ...SHARED };
  if (env.LWM_BOOKS_DIR) throw new Error(`LWM_BOOKS_DIR=${env.LWM_BOOKS_DIR} lacks some of ${SHARED.train.concat(SHARED.haystack).join(", ")}`);
  return { name: "sample", dir: resolve(here, "../sample/books"), ...SAMPLE };
}

function link(folder, dir, files) {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  for (const f of files) {
    if (!existsSync(join(dir, f))) throw new Error(`missing book ${join(dir, f)}`);
    symlinkSync(relative(folder, join(dir, f)), join(folder, f));
  }
}

export function prepare(dataDir = join(here, "data"), env = process.env, options = {}) {
  const books = chooseBooks(env, options);
  const overlap = books.haystack.filter((f) => books.train.includes(f));
  if (overlap.length > 0) throw new Error(`held-out haystack ${overlap.join(", ")} is also a training book`);
  link(join(dataDir, "train"), books.dir, books.train);
  link(join(dataDir, "haystack"), books.dir, books.haystack);
  writeFileSync(join(dataDir, "SOURCE"), `${books.name} ${books.dir}\n`);
  return { ...books, haystackFiles: readdirSync(join(dataDir, "haystack")).map((f) => join(dataDir, "haystack", f)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const args = process.argv.slice(2);
    const dir = args.find((a) => a !== "--sample");
    const p = prepare(dir ? resolve(dir) : undefined, process.env, { sample: args.includes("--sample") });
    process.stdout.write(`tiny-lwm: books from ${p.name} (${p.dir}): train ${p.train.join(", ")}; haystack ${p.haystack.join(", ")}\n`);
  } catch (err) {
    process.stderr.write(`tiny-lwm prepare: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
