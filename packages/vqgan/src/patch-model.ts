/**
 * The small model the project trains itself: a codebook of 16×16 RGB patches (uint8), one code per
 * patch of a 256×256 frame, 256 codes in raster order like aMUSEd's grid.
 *
 * The encoder is exact: pixels and codebook are centred integers (x − 128 ∈ [−128, 127]), so every
 * partial sum of a patch·code dot product is an integer below 768·128² < 2²⁴ and float32 holds it
 * exactly in any summation order. Scores ‖c‖² − 2x·c are then rounded once; the arg-min is the same
 * whatever the thread count, and a plain TypeScript loop (`referenceEncode`) reproduces it bit for bit.
 */
import { GraphBuilder, ONNX_TYPE, type V, i } from "@lwm/onnx";
import { nearestCode } from "./vqmodel.js";

export const PATCH = 16;
export const PATCH_DIM = PATCH * PATCH * 3;
export const FRAME = 256;
export const GRID = FRAME / PATCH;
export const CODEBOOK_FILE = "codebook.bin";

/** uint8 codebook [K, 768] → centred float. */
function centred(g: GraphBuilder, u8: V): V {
  return g.sub(g.op("Cast", [u8], { to: i(ONNX_TYPE.float) }), g.constF([128]));
}

/** frames uint8 [n, 256, 256, 3] → patches [n, 256, 768], each patch row-major (py, px, rgb). */
function patchify(g: GraphBuilder, frames: V): V {
  const x = g.reshape(frames, [-1, GRID, PATCH, GRID, PATCH, 3]);
  return g.reshape(g.transpose(x, [0, 1, 3, 2, 4, 5]), [-1, GRID * GRID, PATCH_DIM]);
}

function codebookRef(g: GraphBuilder, k: number): V {
  return g.externalInitializer("uint8", [k, PATCH_DIM], { file: CODEBOOK_FILE, offset: 0, length: k * PATCH_DIM });
}

export function patchEncoderGraph(k: number): GraphBuilder {
  const g = new GraphBuilder("patch_encoder");
  const frames = g.input("frames", ["n", FRAME, FRAME, 3], "uint8");
  const patches = centred(g, patchify(g, frames));
  g.output("codes", nearestCode(g, patches, centred(g, codebookRef(g, k))), "uint16", ["n", GRID * GRID]);
  return g;
}

export function patchDecoderGraph(k: number): GraphBuilder {
  const g = new GraphBuilder("patch_decoder");
  const codes = g.input("codes", ["n", GRID, GRID], "uint16");
  const rows = g.op("Gather", [codebookRef(g, k), g.op("Cast", [codes], { to: i(ONNX_TYPE.int64) })], { axis: i(0) });
  const x = g.reshape(rows, [-1, GRID, GRID, PATCH, PATCH, 3]);
  g.output("rgb", g.reshape(g.transpose(x, [0, 1, 3, 2, 4, 5]), [-1, FRAME, FRAME, 3]), "uint8", ["n", FRAME, FRAME, 3]);
  return g;
}

/** For k-means: patches uint8 [p, 768] and a codebook uint8 [k, 768] as inputs → nearest codes. */
export function patchAssignGraph(): GraphBuilder {
  const g = new GraphBuilder("patch_assign");
  const patches = g.input("patches", ["p", PATCH_DIM], "uint8");
  const codebook = g.input("codebook", ["k", PATCH_DIM], "uint8");
  g.output("codes", nearestCode(g, centred(g, patches), centred(g, codebook)), "uint16", ["p"]);
  return g;
}

/** Cuts frames (n × 256×256×3) into patches (n·256 × 768) in raster order. */
export function framesToPatches(frames: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * GRID * GRID * PATCH_DIM);
  let o = 0;
  for (let n = 0; n < count; n++) {
    for (let gy = 0; gy < GRID; gy++)
      for (let gx = 0; gx < GRID; gx++) {
        for (let py = 0; py < PATCH; py++) {
          const src = ((n * FRAME + gy * PATCH + py) * FRAME + gx * PATCH) * 3;
          out.set(frames.subarray(src, src + PATCH * 3), o);
          o += PATCH * 3;
        }
      }
  }
  return out;
}

/** The encoder in plain TypeScript: same integers, same single rounding, first minimum wins. */
export function referenceEncode(frame: Uint8Array, codebook: Uint8Array): Uint16Array {
  const k = codebook.length / PATCH_DIM;
  const cc = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let d = 0; d < PATCH_DIM; d++) {
      const v = codebook[c * PATCH_DIM + d]! - 128;
      s += v * v;
    }
    cc[c] = s;
  }
  const patches = framesToPatches(frame, 1);
  const codes = new Uint16Array(GRID * GRID);
  for (let p = 0; p < GRID * GRID; p++) {
    let best = 0,
      bestScore = Infinity;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let d = 0; d < PATCH_DIM; d++) dot += (patches[p * PATCH_DIM + d]! - 128) * (codebook[c * PATCH_DIM + d]! - 128);
      const score = Math.fround(cc[c]! - 2 * dot);
      if (score < bestScore) {
        bestScore = score;
        best = c;
      }
    }
    codes[p] = best;
  }
  return codes;
}
