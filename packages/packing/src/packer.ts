/**
 * Streaming best-fit packing of variable-length examples into rows of exactly `seqLen` tokens.
 *
 * Each example goes into the open row whose free space fits it most tightly; when none fits and
 * `openRows` rows are already open, the fullest open row is closed first. Bounded memory
 * (`openRows` rows at a time), deterministic (same input order → same rows), and close to offline
 * best-fit-decreasing in fill once `openRows` is a few dozen.
 */
export interface PackItem<T> {
  /** Tokens the item occupies (1..seqLen). */
  length: number;
  value: T;
}

export interface PackedBin<T> {
  items: T[];
  /** Tokens used; the rest of the row is tail padding. */
  used: number;
}

export interface PackerOptions {
  seqLen: number;
  /** Rows kept open at once (memory bound and fill quality). Default 64. */
  openRows?: number;
}

interface OpenBin<T> {
  items: T[];
  used: number;
  /** Opening order, the tie-break that keeps output deterministic. */
  serial: number;
}

export class SequencePacker<T> {
  readonly seqLen: number;
  readonly openRows: number;
  private readonly open: OpenBin<T>[] = [];
  private serial = 0;

  constructor(options: PackerOptions) {
    if (!Number.isInteger(options.seqLen) || options.seqLen <= 0) throw new RangeError(`seqLen must be a positive integer, got ${options.seqLen}`);
    const openRows = options.openRows ?? 64;
    if (!Number.isInteger(openRows) || openRows <= 0) throw new RangeError(`openRows must be a positive integer, got ${openRows}`);
    this.seqLen = options.seqLen;
    this.openRows = openRows;
  }

  /** Adds one item; returns the rows this addition closed (zero or more, in closing order). */
  add(item: PackItem<T>): PackedBin<T>[] {
    const { length } = item;
    if (!Number.isInteger(length) || length <= 0 || length > this.seqLen) {
      throw new RangeError(`item length ${length} is outside 1..${this.seqLen} (window long documents before packing)`);
    }
    const closed: PackedBin<T>[] = [];
    let best = -1;
    for (let i = 0; i < this.open.length; i++) {
      const free = this.seqLen - this.open[i]!.used;
      if (free >= length && (best < 0 || free < this.seqLen - this.open[best]!.used)) best = i;
    }
    if (best < 0) {
      if (this.open.length >= this.openRows) closed.push(this.closeAt(this.fullestIndex()));
      this.open.push({ items: [], used: 0, serial: this.serial++ });
      best = this.open.length - 1;
    }
    const bin = this.open[best]!;
    bin.items.push(item.value);
    bin.used += length;
    if (bin.used === this.seqLen) closed.push(this.closeAt(best));
    return closed;
  }

  /** Closes every open row, oldest first. */
  flush(): PackedBin<T>[] {
    const rows = [...this.open].sort((a, b) => a.serial - b.serial).map(({ items, used }) => ({ items, used }));
    this.open.length = 0;
    return rows;
  }

  private fullestIndex(): number {
    let best = 0;
    for (let i = 1; i < this.open.length; i++) {
      const a = this.open[i]!;
      const b = this.open[best]!;
      if (a.used > b.used || (a.used === b.used && a.serial < b.serial)) best = i;
    }
    return best;
  }

  private closeAt(index: number): PackedBin<T> {
    const [bin] = this.open.splice(index, 1);
    return { items: bin!.items, used: bin!.used };
  }
}

/** Packs a stream of items into rows; yields each row as soon as it is closed. */
export async function* packSequences<T>(items: AsyncIterable<PackItem<T>> | Iterable<PackItem<T>>, options: PackerOptions): AsyncGenerator<PackedBin<T>> {
  const packer = new SequencePacker<T>(options);
  for await (const item of items) yield* packer.add(item);
  yield* packer.flush();
}
