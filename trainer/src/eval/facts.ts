/**
 * The facts of retrieval tasks: a city and the 7-digit number planted for it. The needle evaluation
 * and the training retrieval task (pipelines/recall) draw from two disjoint pools, so no value the
 * evaluation asks for can have been seen in training: disjoint city lists, and the 7-digit numbers
 * split in two by a hash of the number (no digit pattern a model could learn tells them apart).
 */
import { uniformSampler } from "../model/rng.js";

/** Cities of the needle evaluation (LWM draws from a fixed list of about 100). */
export const EVAL_CITIES: readonly string[] = [
  "Chicago",
  "Yangon",
  "Antananarivo",
  "Colombo",
  "Almaty",
  "Sydney",
  "Mexico City",
  "Seattle",
  "Lagos",
  "Amsterdam",
  "Belgrade",
  "Cairo",
  "Baghdad",
  "Damascus",
  "Kigali",
  "Dakar",
  "Sofia",
  "Victoria",
  "Tashkent",
  "Mumbai",
  "Barcelona",
  "Riyadh",
  "Bangkok",
  "Rio de Janeiro",
  "Caracas",
  "Havana",
  "Nairobi",
  "Lima",
  "Lisbon",
  "Oslo",
  "Helsinki",
  "Reykjavik",
  "Dublin",
  "Edinburgh",
  "Prague",
  "Vienna",
  "Budapest",
  "Warsaw",
  "Kyiv",
  "Tbilisi",
  "Yerevan",
  "Baku",
  "Tehran",
  "Kabul",
  "Karachi",
  "Dhaka",
  "Kathmandu",
  "Hanoi",
  "Manila",
  "Jakarta",
  "Singapore",
  "Kuala Lumpur",
  "Seoul",
  "Tokyo",
  "Osaka",
  "Beijing",
  "Shanghai",
  "Taipei",
  "Ulaanbaatar",
  "Perth",
  "Auckland",
  "Wellington",
  "Honolulu",
  "Anchorage",
  "Vancouver",
  "Toronto",
  "Montreal",
  "Boston",
  "Denver",
  "Houston",
  "Miami",
  "Atlanta",
  "Phoenix",
  "Bogota",
  "Quito",
  "Santiago",
  "Buenos Aires",
  "Montevideo",
  "Asuncion",
  "La Paz",
  "Accra",
  "Abuja",
  "Addis Ababa",
  "Khartoum",
  "Tunis",
  "Algiers",
  "Casablanca",
  "Johannesburg",
  "Cape Town",
  "Harare",
  "Lusaka",
  "Luanda",
  "Kinshasa",
  "Doha",
  "Muscat",
  "Amman",
  "Beirut",
  "Istanbul",
  "Athens",
  "Rome",
];

/**
 * Cities of the training retrieval task (pipelines/recall): none is one of EVAL_CITIES, and none
 * contains one or is contained in one (facts.test.ts checks it).
 */
export const TRAIN_CITIES: readonly string[] = [
  "Glasgow",
  "Porto",
  "Nagoya",
  "Kyoto",
  "Busan",
  "Chennai",
  "Kolkata",
  "Lahore",
  "Hyderabad",
  "Pune",
  "Surabaya",
  "Cebu",
  "Da Nang",
  "Chiang Mai",
  "Phnom Penh",
  "Vientiane",
  "Mandalay",
  "Thimphu",
  "Bishkek",
  "Dushanbe",
  "Ashgabat",
  "Samarkand",
  "Isfahan",
  "Shiraz",
  "Basra",
  "Aleppo",
  "Haifa",
  "Izmir",
  "Ankara",
  "Thessaloniki",
  "Zagreb",
  "Ljubljana",
  "Bratislava",
  "Krakow",
  "Gdansk",
  "Vilnius",
  "Riga",
  "Tallinn",
  "Tampere",
  "Bergen",
  "Gothenburg",
  "Malmo",
  "Aarhus",
  "Hamburg",
  "Munich",
  "Cologne",
  "Leipzig",
  "Zurich",
  "Geneva",
  "Lyon",
  "Marseille",
  "Bordeaux",
  "Seville",
  "Valencia",
  "Bilbao",
  "Naples",
  "Turin",
  "Florence",
  "Bologna",
  "Palermo",
  "Antwerp",
  "Rotterdam",
  "Utrecht",
  "Cardiff",
  "Belfast",
  "Leeds",
  "Bristol",
  "Galway",
  "Quebec",
  "Winnipeg",
  "Calgary",
  "Halifax",
  "Portland",
  "Sacramento",
  "Austin",
  "Nashville",
  "Detroit",
  "Pittsburgh",
  "Baltimore",
  "Tucson",
  "Omaha",
  "Memphis",
  "Tulsa",
  "Monterrey",
  "Guadalajara",
  "Oaxaca",
  "Medellin",
  "Cusco",
  "Recife",
  "Curitiba",
  "Cordoba",
  "Mendoza",
  "Valparaiso",
  "Kumasi",
  "Mombasa",
  "Zanzibar",
  "Durban",
  "Windhoek",
  "Gaborone",
  "Maputo",
  "Marrakesh",
  "Alexandria",
  "Adelaide",
  "Brisbane",
  "Hobart",
  "Christchurch",
  "Suva",
  "Apia",
];

/** One planted fact. */
export interface Fact {
  city: string;
  /** Seven digits, as a string (the thing the model must reproduce). */
  number: string;
}
/** LWM's name for an evaluation fact. */
export type Needle = Fact;

export type FactPool = "eval" | "train";

const CITIES_OF: Record<FactPool, readonly string[]> = { eval: EVAL_CITIES, train: TRAIN_CITIES };

/** The pool a 7-digit number belongs to: the low bit of murmur3's 32-bit finaliser of the number. */
export function poolOfNumber(n: number): FactPool {
  let h = n | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h & 1) === 0 ? "eval" : "train";
}

/**
 * The keys training facts are drawn with. `cities`: TRAIN_CITIES. `names`: synthetic place names
 * (`syntheticName`), billions of them. A small model trained on the 108 cities learns a table
 * from "the city asked" to its name instead of copying the name from the question (docs/tiny-lwm.md,
 * sixth session); with names there is no table to learn, only the copy the evaluation needs.
 */
export type TrainingKeys = "cities" | "names";

// Names are built from syllables (onset, vowel, optional coda): the tokenizer cuts them into about
// 3,300 different pieces, 141 of the 205 pieces the evaluation's cities are made of (a list of 40
// fixed syllables gave 557 and 65). A copy trained on many different tokens is a copy in general,
// not a copy of a few syllables, and the evaluation asks it to copy city names it never saw.
const ONSETS = "b c d f g h j k l m n p r s t v w y z ch sh th tr br st gr kr pl bl dr fr sk sl sp".split(" ");
const VOWELS = "a e i o u ai ou ea ie y".split(" ");
const CODAS = "n r s l m t ng k d".split(" ");
const alternatives = (xs: readonly string[]) => xs.join("|");
const SYNTHETIC_NAME = new RegExp(`^(?:${alternatives(VOWELS)})?(?:(?:${alternatives(ONSETS)})(?:${alternatives(VOWELS)})(?:${alternatives(CODAS)})?){2,3}$`);
const EVAL_LOWER = EVAL_CITIES.map((c) => c.toLowerCase());

/** Whether a name shares text with an evaluation city (one contains the other, ignoring case). */
function overlapsEvalCity(name: string): boolean {
  const n = name.toLowerCase();
  return EVAL_LOWER.some((e) => n.includes(e) || e.includes(n));
}

/** A synthetic place name of 2–3 syllables ("Bachoufaim", "Jievok"), never one that shares text with an evaluation city. */
export function syntheticName(u: () => number): string {
  const pick = (xs: readonly string[], p = 1) => (u() < p ? (xs[Math.floor(u() * xs.length)] as string) : "");
  for (;;) {
    let name = pick(VOWELS, 0.2);
    for (let i = 0, n = 2 + Math.floor(u() * 2); i < n; i++) name += pick(ONSETS) + pick(VOWELS) + pick(CODAS, 0.6);
    name = (name[0] as string).toUpperCase() + name.slice(1);
    if (!overlapsEvalCity(name)) return name;
  }
}

/** The pool a city belongs to, or null for a city in neither list (a synthetic name is a training key). */
export function poolOfCity(city: string): FactPool | null {
  if (EVAL_CITIES.includes(city)) return "eval";
  if (TRAIN_CITIES.includes(city)) return "train";
  if (SYNTHETIC_NAME.test(city.toLowerCase()) && !overlapsEvalCity(city)) return "train";
  return null;
}

/**
 * `count` facts of `pool` with distinct keys and 7-digit numbers, a pure function of `seed`. The
 * evaluation pool always uses EVAL_CITIES; the training pool uses `keys`.
 */
export function drawFacts(count: number, seed: number, pool: FactPool, keys: TrainingKeys = "cities"): Fact[] {
  const cities = CITIES_OF[pool];
  if (!Number.isInteger(count) || count < 1 || count > cities.length) throw new RangeError(`facts: ${count} is not in 1..${cities.length}`);
  if (pool === "eval" && keys !== "cities") throw new RangeError("facts: the evaluation pool is always EVAL_CITIES");
  const u = uniformSampler(seed);
  const left = [...cities];
  const out: Fact[] = [];
  for (let i = 0; i < count; i++) {
    let city = keys === "cities" ? (left.splice(Math.floor(u() * left.length), 1)[0] as string) : syntheticName(u);
    while (out.some((f) => f.city === city)) city = syntheticName(u);
    let n: number;
    do n = 1_000_000 + Math.floor(u() * 9_000_000);
    while (poolOfNumber(n) !== pool);
    out.push({ city, number: String(n) });
  }
  return out;
}

/** `count` needles of the evaluation pool (LWM's random cities and 7-digit numbers). */
export function drawNeedles(count: number, seed: number): Needle[] {
  return drawFacts(count, seed, "eval");
}
