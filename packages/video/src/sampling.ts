/**
 * Which frames to keep. LWM samples a clip either at a fixed rate (4 fps for its 8K stage) or as
 * N frames evenly spaced by index, `np.linspace(0, n − 1, N).astype(int)` (all frames when n ≤ N).
 * Both become one ffmpeg select filter, so a clip is decoded once, by presentation timestamp (fps)
 * or by decoded-frame index (linspace), and every kept frame keeps its own index and timestamp.
 */

export type Sampling =
  /** For each time t₀ + k/fps, the first frame at or after it (each frame at most once), with its own timestamp. */
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

/**
 * An ffmpeg `select` expression keeping, for each grid time t₀ + k/fps (t₀: the first frame's
 * presentation time), the first frame whose presentation time is at or after it; a frame that
 * covers several grid times (a gap in a variable-frame-rate file, or a clip slower than `fps`) is
 * kept once. Unlike ffmpeg's fps filter, which restamps frames onto its grid, the kept frames keep
 * their own timestamps, so provenance records when each frame really is. Registers (st/ld) persist
 * across frames: 1 = started, 2 = t₀, 0 = the next grid time after t₀; 1e-6 s absorbs rounding of
 * times that sit exactly on the grid.
 */
export function fpsSelectExpression(fps: number): string {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`fps must be a positive number, got ${fps}`);
  const f = String(fps);
  return ["if(eq(ld(1),0),st(1,1)+st(2,t)+st(0,0))", "st(3,t-ld(2))", `if(gte(ld(3)+1e-6,ld(0)),st(0,(floor(ld(3)*${f}+1e-6)+1)/${f})*0+1,0)`].join(";");
}
