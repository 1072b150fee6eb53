// Generates the bundled sample corpus (deterministic; rerun to regenerate, output is committed).
// Original text made from templates, so it carries no third-party rights.
import { writeFileSync, mkdirSync } from "node:fs";

let seed = 20240214;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const people = ["Ada", "Bram", "Celeste", "Dorian", "Esme", "Felix", "Greta", "Hugo", "Ines", "Jonah"];
const places = ["the lighthouse", "the orchard", "the old mill", "the harbour", "the library", "the glass house", "the ferry", "the hill road"];
const things = ["a brass key", "a folded map", "a lantern", "a ledger", "a compass", "a letter sealed in green wax", "a clock without hands"];
const verbs = ["found", "carried", "lost", "hid", "mended", "traded", "studied", "buried"];
const moods = ["quietly", "in a hurry", "against all advice", "at first light", "while the rain fell", "without a word"];
const weather = [
  "The wind turned cold.",
  "Fog rolled in from the sea.",
  "The sun stood low over the water.",
  "Snow began to fall.",
  "The evening was warm and still.",
];

function sentence() {
  const who = pick(people);
  switch (Math.floor(rand() * 4)) {
    case 0:
      return `${who} ${pick(verbs)} ${pick(things)} near ${pick(places)} ${pick(moods)}.`;
    case 1:
      return `"Have you seen ${pick(things)}?" asked ${who}, and ${pick(people)} shook their head.`;
    case 2:
      return pick(weather);
    default:
      return `Nobody at ${pick(places)} remembered why ${who} had come, only that ${pick(things)} was part of it.`;
  }
}

function paragraph() {
  const n = 3 + Math.floor(rand() * 6);
  return Array.from({ length: n }, sentence).join(" ");
}

function book(title, chapters) {
  const parts = [title, ""];
  for (let c = 1; c <= chapters; c++) {
    parts.push(`Chapter ${c}`, "");
    const paras = 4 + Math.floor(rand() * 10);
    for (let p = 0; p < paras; p++) parts.push(paragraph(), "");
  }
  return parts.join("\n");
}

mkdir("books");
function mkdir(d) {
  mkdirSync(new URL(d, import.meta.url), { recursive: true });
}
const gutenbergStyle = (title, body) =>
  `The Project Gutenberg eBook of ${title}\n\nTitle: ${title}\nLanguage: English\n\n*** START OF THE PROJECT GUTENBERG EBOOK ${title.toUpperCase()} ***\n\n${body}\n*** END OF THE PROJECT GUTENBERG EBOOK ${title.toUpperCase()} ***\n\nSection 1. General Terms of Use and Redistributing Project Gutenberg-tm electronic works\n`;

writeFileSync(new URL("books/the-lighthouse-keeper.txt", import.meta.url), gutenbergStyle("The Lighthouse Keeper", book("The Lighthouse Keeper", 24)));
writeFileSync(new URL("books/the-orchard-ledger.txt", import.meta.url), book("The Orchard Ledger", 9));
writeFileSync(
  new URL("books/short-stories.jsonl", import.meta.url),
  Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `story-${i}`, title: `Story ${i}`, text: book(`Story ${i}`, 1 + Math.floor(rand() * 3)) })).join(
    "\n",
  ) + "\n",
);
