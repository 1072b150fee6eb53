/**
 * Token-budget mixing: interleaves several example streams so that, at every point, each
 * source's share of the tokens taken so far tracks its asked share (largest deficit first).
 * A source that runs dry drops out and the others share its part; `budgetTokens` stops the mix.
 */
export interface MixSource<T> {
  name: string;
  /** Relative weight; normalised over the sources. */
  share: number;
  items: AsyncIterable<T> | Iterable<T>;
}

export interface MixedItem<T> {
  source: string;
  value: T;
}

export interface MixStats {
  source: string;
  asked: number;
  tokens: number;
  items: number;
}

export async function* mixByTokenShare<T>(
  sources: MixSource<T>[],
  lengthOf: (item: T) => number,
  options: { budgetTokens?: number; stats?: MixStats[] } = {},
): AsyncGenerator<MixedItem<T>> {
  const total = sources.reduce((s, x) => s + x.share, 0);
  if (!(total > 0)) throw new RangeError("mixture shares must sum to a positive number");
  const live = sources.map((s) => {
    const iterable = s.items;
    const iterator: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in iterable ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
    const stat: MixStats = { source: s.name, asked: s.share / total, tokens: 0, items: 0 };
    options.stats?.push(stat);
    return { iterator, stat, done: false };
  });
  let taken = 0;
  const budget = options.budgetTokens ?? Infinity;
  try {
    while (taken < budget) {
      // Largest deficit between asked share and achieved share; ties go to the earlier source.
      let pick: (typeof live)[number] | undefined;
      let pickDeficit = -Infinity;
      for (const s of live) {
        if (s.done) continue;
        const deficit = s.stat.asked * (taken + 1) - s.stat.tokens;
        if (deficit > pickDeficit) {
          pick = s;
          pickDeficit = deficit;
        }
      }
      if (!pick) return;
      const next = await pick.iterator.next();
      if (next.done) {
        pick.done = true;
        continue;
      }
      const length = lengthOf(next.value);
      pick.stat.tokens += length;
      pick.stat.items += 1;
      taken += length;
      yield { source: pick.stat.source, value: next.value };
    }
  } finally {
    // The budget (or the consumer) stopped the mix early: let unfinished sources close their files.
    for (const s of live) if (!s.done) await s.iterator.return?.();
  }
}
