/**
 * A generated seafaring book for the QA tests (assemble.test.ts and the QA end-to-end tests in
 * tests/): every chapter names a captain, ports, a year, a crew size and an object, so the
 * extractive generator finds questions with one answer in the chapter.
 */
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

/** Generated chapters ("Chapter N\n\n…\n") whose names, places, years and objects rarely repeat. */
export function bookChapters(seed: number, chapters: number): string[] {
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
  return parts;
}

/** A generated book: `chapters` chapters of bookChapters, a blank line between two. */
export function book(seed: number, chapters: number): string {
  return bookChapters(seed, chapters).join("\n");
}
