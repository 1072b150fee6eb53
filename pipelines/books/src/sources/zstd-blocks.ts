/**
 * Re-cuts a Zstandard byte stream at its frame and block boundaries (RFC 8878 §3.1), checking each
 * frame's window size on the way. fzstd decodes every complete block it is given in one push and
 * allocates the window its frame header asks for; fed one block at a time, with windows bounded,
 * its memory stays bounded whatever the input (one block regenerates at most 128 KiB).
 */

import { concatBytes } from "./bytes.js";

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

/** A window larger than this is refused, as `zstd -d` does by default (--memory=128MB). */
export const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;

export class ZstdFormatError extends Error {}

type Phase =
  | { kind: "magic" }
  | { kind: "frameHeader"; need: number }
  | { kind: "blockHeader" }
  | { kind: "block"; need: number; last: boolean }
  | { kind: "checksum" }
  | { kind: "skip"; left: number };

/** Splits chunks into pieces: frame headers, whole blocks, checksums; skippable frames are dropped. */
export class ZstdBlockCutter {
  private phase: Phase = { kind: "magic" };
  private held: Uint8Array[] = [];
  private heldLength = 0;
  private checksum = false;
  private skippable = false;
  /** Byte offset in the compressed stream, for messages. */
  private offset = 0;

  constructor(private readonly maxWindow = MAX_ZSTD_WINDOW) {}

  /** Pieces of `chunk` that complete a header or a block; the rest is held for the next call. */
  feed(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      const phase = this.phase;
      if (phase.kind === "skip") {
        const n = Math.min(phase.left, chunk.length - at);
        out.push(chunk.subarray(at, at + n)); // fzstd skips these bytes itself
        at += n;
        this.offset += n;
        phase.left -= n;
        if (phase.left === 0) this.phase = { kind: "magic" };
        continue;
      }
      const need = this.needed(phase);
      const n = Math.min(need - this.heldLength, chunk.length - at);
      this.held.push(chunk.subarray(at, at + n));
      this.heldLength += n;
      at += n;
      if (this.heldLength < need) break;
      const piece = this.take();
      const more = this.advance(piece);
      if (more > 0) {
        // The header told how many more bytes belong to this piece (frame header rest): keep them together.
        this.held.push(piece);
        this.heldLength = piece.length;
        continue;
      }
      out.push(piece);
    }
    return out;
  }

  /** Throws when the stream stops inside a frame. */
  end(): void {
    if (this.phase.kind !== "magic" || this.heldLength > 0)
      throw new ZstdFormatError(`truncated zstd stream: it ends inside a frame at byte ${this.offset + this.heldLength}`);
  }

  private needed(phase: Exclude<Phase, { kind: "skip" }>): number {
    switch (phase.kind) {
      case "magic":
        return 4;
      case "frameHeader":
        return phase.need;
      case "blockHeader":
        return 3;
      case "block":
        return phase.need;
      case "checksum":
        return 4;
    }
  }

  private take(): Uint8Array {
    const piece = this.held.length === 1 ? (this.held[0] as Uint8Array) : concatBytes(this.held, this.heldLength);
    this.held = [];
    this.heldLength = 0;
    return piece.slice();
  }

  /** Moves to the next phase after `piece` is complete; returns the bytes still missing from it (header growth). */
  private advance(piece: Uint8Array): number {
    const phase = this.phase;
    const at = this.offset;
    switch (phase.kind) {
      case "magic": {
        const magic = readLE(piece, 0, 4);
        if (magic === ZSTD_MAGIC) {
          this.phase = { kind: "frameHeader", need: 6 };
          return 2; // magic + descriptor + the first optional byte, then the full size is known
        }
        if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          this.phase = { kind: "frameHeader", need: 8 };
          this.skippable = true;
          return 4;
        }
        throw new ZstdFormatError(`not a zstd frame at byte ${at}: magic number 0x${magic.toString(16).padStart(8, "0")}`);
      }
      case "frameHeader": {
        if (this.skippable) {
          this.skippable = false;
          this.offset += piece.length;
          const left = readLE(piece, 4, 4);
          this.phase = left === 0 ? { kind: "magic" } : { kind: "skip", left };
          return 0;
        }
        const descriptor = piece[4] as number;
        const singleSegment = (descriptor >> 5) & 1;
        const fcsFlag = descriptor >> 6;
        if (descriptor & 0x08) throw new ZstdFormatError(`corrupt zstd frame header at byte ${at}: reserved bit set`);
        const dictBytes = [0, 1, 2, 4][descriptor & 3] as number;
        const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
        const size = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
        if (piece.length < size) {
          phase.need = size;
          return size - piece.length;
        }
        const fcsAt = 5 + (singleSegment ? 0 : 1) + dictBytes;
        const contentSize = fcsBytes === 0 ? 0 : readLE(piece, fcsAt, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
        let window = contentSize;
        if (!singleSegment) {
          const wd = piece[5] as number;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        if (window > this.maxWindow) {
          throw new ZstdFormatError(
            `zstd frame at byte ${at} asks for a ${window}-byte window, over the ${this.maxWindow}-byte limit (as zstd -d refuses by default)`,
          );
        }
        this.checksum = ((descriptor >> 2) & 1) === 1;
        this.offset += piece.length;
        this.phase = { kind: "blockHeader" };
        return 0;
      }
      case "blockHeader": {
        const header = readLE(piece, 0, 3);
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new ZstdFormatError(`corrupt zstd block at byte ${at}: reserved block type`);
        if (size > BLOCK_MAX) throw new ZstdFormatError(`corrupt zstd block at byte ${at}: ${size} bytes > the 128 KiB block maximum`);
        const body = type === 1 ? 1 : size;
        this.phase = { kind: "block", need: 3 + body, last };
        return body; // header and body go to the decoder as one piece
      }
      case "block": {
        this.offset += piece.length;
        this.phase = phase.last ? (this.checksum ? { kind: "checksum" } : { kind: "magic" }) : { kind: "blockHeader" };
        return 0;
      }
      case "checksum": {
        this.offset += piece.length;
        this.phase = { kind: "magic" };
        return 0;
      }
      default:
        return 0;
    }
  }
}

function readLE(bytes: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i -= 1) v = v * 256 + (bytes[at + i] as number);
  return v;
}
