/** Retry timing of the chat client: exponential backoff with jitter, and the server's Retry-After. */

export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Ceiling of the exponential delay. */
  maxMs: number;
}

/**
 * Delay before retry number `retry` (0 = the first retry): d = min(maxMs, baseMs·2^retry), then
 * "equal jitter": d/2 + u·d/2 with u uniform in [0, 1). Half the delay is guaranteed (so a herd of
 * clients backs off), the other half spreads them out (so they do not come back together).
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const d = Math.min(options.maxMs, options.baseMs * 2 ** retry);
  return d / 2 + random() * (d / 2);
}

/**
 * A Retry-After header in milliseconds: delay-seconds ("2", "1.5") or an HTTP date; null when
 * absent or unreadable. A date in the past gives 0.
 */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
