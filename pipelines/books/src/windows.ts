/**
 * Cutting a tokenized document into training examples of at most `seqLen` tokens.
 *
 * The document's example stream is BOS, its n tokens, EOS (n + 2 tokens). Window k covers stream
 * positions [k·seqLen, (k+1)·seqLen) and becomes its own example: BOS only in the first, EOS only
 * in the last. Loss follows the shard rule per example: every token but the example's first. A
 * last window of a single token (EOS alone, which would train nothing) is avoided by making the
 * window before it one token shorter.
 */
export interface Window {
  /** Range [start, end) of document tokens (BOS/EOS excluded) in this example. */
  start: number;
  end: number;
  bos: boolean;
  eos: boolean;
}

export function windowsOf(documentTokens: number, seqLen: number): Window[] {
  // 3 is the least that lets a shortened window keep a target (BOS + one token).
  if (!Number.isInteger(seqLen) || seqLen < 3) throw new RangeError(`seqLen must be an integer >= 3, got ${seqLen}`);
  if (!Number.isInteger(documentTokens) || documentTokens < 0) throw new RangeError(`bad token count ${documentTokens}`);
  const streamLength = documentTokens + 2;
  const cuts: number[] = [0];
  while ((cuts[cuts.length - 1] as number) + seqLen < streamLength) cuts.push((cuts[cuts.length - 1] as number) + seqLen);
  if (cuts.length > 1 && streamLength - (cuts[cuts.length - 1] as number) === 1) cuts[cuts.length - 1] = (cuts[cuts.length - 1] as number) - 1;
  cuts.push(streamLength);
  const windows: Window[] = [];
  for (let k = 0; k + 1 < cuts.length; k += 1) {
    const a = cuts[k] as number;
    const b = cuts[k + 1] as number;
    windows.push({ start: Math.max(a, 1) - 1, end: Math.min(b, documentTokens + 1) - 1, bos: a === 0, eos: b === streamLength });
  }
  return windows;
}

/** The example tokens of one window: [BOS] document[start, end) [EOS]. */
export function windowTokens<T extends Uint16Array | Uint32Array>(document: T, window: Window, bosId: number, eosId: number): T {
  const length = window.end - window.start + (window.bos ? 1 : 0) + (window.eos ? 1 : 0);
  const out = (document instanceof Uint16Array ? new Uint16Array(length) : new Uint32Array(length)) as T;
  let at = 0;
  if (window.bos) out[at++] = bosId;
  out.set(document.subarray(window.start, window.end), at);
  at += window.end - window.start;
  if (window.eos) out[at] = eosId;
  return out;
}

/** Per-token loss flags of an example: the shard rule (no loss on the first token, loss on every other). */
export function lossFlags(length: number): Uint8Array {
  const loss = new Uint8Array(length).fill(1);
  if (length > 0) loss[0] = 0;
  return loss;
}
