/** Number formats the page uses everywhere, so the same quantity always reads the same way. */

/** 1234567 → "1,234,567". */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** 0.9391 → "93.9%". */
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Bytes in B / KiB / MiB / GiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Milliseconds as "850 ms", "12.3 s", "4 min 05 s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
}

/** A rate with a thousands separator under 100 and significant digits above. */
export const rate = (x: number): string => (x >= 100 ? int(x) : x.toPrecision(3));

/** A long hex digest, shortened for a table cell (the full value sits in its title). */
export const shortHash = (hex: string): string => (hex.length > 16 ? `${hex.slice(0, 12)}…` : hex);
