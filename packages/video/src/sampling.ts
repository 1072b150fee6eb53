/**
 * Which frames to keep. LWM samples a clip either at a fixed rate (4 fps for its 8K stage) or as
 * N frames evenly spaced by index, `np.linspace(0, n − 1, N).astype(int)` (all frames when n ≤ N).
 * Both become one ffmpeg filter, so a clip is decoded once, by presentation timestamp (fps) or by
 * decoded-frame index (select).
 */

export type Sampling =
  /** Frames at `fps` per second of presentation time (ffmpeg's fps filter, nearest frame). */
  | { fps: number }
  /** `frames` frames evenly spaced by index, LWM's floor(linspace(0, n−1, frames)). */
  | { frames: number }
  /** Every frame. */
  | { all: true };

/**
 * The indices LWM keeps out of `n` frames when it wants `count`: numpy's linspace (k·step, the last
 * one set to n − 1), truncated to integers. Same doubles as numpy, so the same indices.
 */
export function linspaceIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, k) => k);
  if (count === 1) return [0];
  const step = (n - 1) / (count - 1);
  const out = Array.from({ length: count }, (_, k) => Math.floor(k * step));
  out[count - 1] = n - 1;
  return out;
}

/**
 * An ffmpeg `select` expression true exactly for the frame indices `linspaceIndices(n, count)`,
 * without listing them: frame i is kept when floor(k·step) = i for the k next to i/step (ffmpeg
 * evaluates in doubles like numpy, and `step` is written in its shortest round-trip form), or i is
 * the last frame. Its length does not grow with `count`.
 */
export function linspaceSelectExpression(n: number, count: number): string {
  if (n <= count) return "1";
  if (count === 1) return "eq(n,0)";
  const s = String((n - 1) / (count - 1));
  const k = `floor(n/${s})`;
  // numpy overwrites the last sample with n − 1, so k = count − 1 only matches through eq(n, n − 1).
  const hit = (dk: string) => `eq(floor((${k}${dk})*${s}),n)*lt(${k}${dk},${count - 1})`;
  return `gt(eq(n,${n - 1})+${hit("-1")}+${hit("")}+${hit("+1")},0)`;
}

/** The frames-per-second form for ffmpeg's fps filter (a rational string is exact for e.g. 30000/1001). */
export function fpsFilter(fps: number): string {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`fps must be a positive number, got ${fps}`);
  return `fps=${fps}`;
}
