/** Reconstruction quality: PSNR, and the baseline a codebook must beat at the same bit budget. */
import { FRAME, GRID, PATCH, PATCH_DIM } from "./patch-model.js";

/** PSNR in dB over all bytes of two same-size uint8 images (peak 255). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError("psnr: sizes differ");
  let se = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k]! - b[k]!;
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

/** Frames from patch codes and a patch codebook (what the decoder graph does). */
export function reconstructFromCodes(codes: Uint16Array, codebook: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * FRAME * FRAME * 3);
  for (let n = 0; n < count; n++)
    for (let gy = 0; gy < GRID; gy++)
      for (let gx = 0; gx < GRID; gx++) {
        const c = codes[(n * GRID + gy) * GRID + gx]!;
        for (let py = 0; py < PATCH; py++) {
          out.set(
            codebook.subarray(c * PATCH_DIM + py * PATCH * 3, c * PATCH_DIM + (py + 1) * PATCH * 3),
            ((n * FRAME + gy * PATCH + py) * FRAME + gx * PATCH) * 3,
          );
        }
      }
  return out;
}

/**
 * The baseline of the same bit budget: each 16×16 patch becomes its mean colour, quantized to a
 * palette of `k` colours (k-means in RGB, seeded, fixed iterations), so a patch costs log2(k) bits
 * as with the codebook.
 */
export function meanColourBaseline(frames: Uint8Array, count: number, k: number, seed: number, iterations = 10): Uint8Array {
  const p = count * GRID * GRID;
  const means = new Float64Array(p * 3);
  for (let n = 0; n < count; n++)
    for (let gy = 0; gy < GRID; gy++)
      for (let gx = 0; gx < GRID; gx++) {
        const i = (n * GRID + gy) * GRID + gx;
        for (let py = 0; py < PATCH; py++)
          for (let px = 0; px < PATCH; px++) {
            const o = ((n * FRAME + gy * PATCH + py) * FRAME + gx * PATCH + px) * 3;
            for (let c = 0; c < 3; c++) means[i * 3 + c]! += frames[o + c]! / (PATCH * PATCH);
          }
      }
  const kk = Math.min(k, p);
  const palette = new Float64Array(kk * 3);
  let a = seed >>> 0;
  for (let c = 0; c < kk; c++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    const src = a % p;
    palette.set(means.subarray(src * 3, src * 3 + 3), c * 3);
  }
  const assign = new Uint32Array(p);
  for (let it = 0; it <= iterations; it++) {
    for (let i = 0; i < p; i++) {
      let best = 0,
        bd = Infinity;
      for (let c = 0; c < kk; c++) {
        const dr = means[i * 3]! - palette[c * 3]!,
          dg = means[i * 3 + 1]! - palette[c * 3 + 1]!,
          db = means[i * 3 + 2]! - palette[c * 3 + 2]!;
        const d = dr * dr + dg * dg + db * db;
        if (d < bd) {
          bd = d;
          best = c;
        }
      }
      assign[i] = best;
    }
    if (it === iterations) break;
    const sums = new Float64Array(kk * 3),
      counts = new Uint32Array(kk);
    for (let i = 0; i < p; i++) {
      counts[assign[i]!]!++;
      for (let c = 0; c < 3; c++) sums[assign[i]! * 3 + c]! += means[i * 3 + c]!;
    }
    for (let c = 0; c < kk; c++) if (counts[c]) for (let d = 0; d < 3; d++) palette[c * 3 + d] = sums[c * 3 + d]! / counts[c]!;
  }
  const out = new Uint8Array(frames.length);
  for (let n = 0; n < count; n++)
    for (let gy = 0; gy < GRID; gy++)
      for (let gx = 0; gx < GRID; gx++) {
        const c = assign[(n * GRID + gy) * GRID + gx]!;
        const rgb = [0, 1, 2].map((d) => Math.round(palette[c * 3 + d]!));
        for (let py = 0; py < PATCH; py++) for (let px = 0; px < PATCH; px++) out.set(rgb, ((n * FRAME + gy * PATCH + py) * FRAME + gx * PATCH + px) * 3);
      }
  return out;
}
