import { z } from "zod";

/** Edit distance (insert, delete, substitute), case-insensitive: a misspelt key and its intended name are close. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= y.length; j += 1) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length] as number;
}

/** The known key nearest to `key`, when it is near enough to be a likely misspelling. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  // A shortened or lengthened name ("warmup" for "warmupSteps") is as likely as a typo.
  const lower = key.toLowerCase();
  const affix = known.find((name) => lower.length >= 3 && (name.toLowerCase().startsWith(lower) || lower.startsWith(name.toLowerCase())));
  if (affix) return affix;
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(key, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

/** "unknown key "minchars" (did you mean "minChars"?)", one clause per key. */
export function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  return keys
    .map((key) => {
      const near = nearestKey(key, known);
      return `unknown key ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ` (known keys: ${known.join(", ")})`}`;
    })
    .join("; ");
}

/**
 * An object schema that refuses keys it does not know, naming each and the nearest known key: a
 * misspelt setting must never silently fall back to its default.
 */
export function strictObject<const S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownKeysMessage(issue.keys, known) : undefined),
  });
}
