/**
 * A row's decoded vision blocks as one PNG contact sheet: per block, a text panel (segment, task
 * direction, source, caption, frame times) beside its frames at full size, each frame labelled
 * with its timestamp. Text is SVG that sharp (librsvg) rasterises; frames are composited raw, so
 * the pixels in the sheet are the decoder's pixels exactly.
 */
import sharp, { type OverlayOptions } from "sharp";
import type { DecodedClip } from "./decoder.js";

const PAD = 12;
const TEXT_W = 360;
const GAP = 8;
const LABEL_H = 18;
const HEADER_H = 30;
const LINE_H = 17;
const FONT = 13;
/** Frames per line of a block before it wraps. */
const FRAMES_PER_LINE = 6;
/** Approximate characters per line of the text panel at FONT px. */
const CHARS_PER_LINE = Math.floor((TEXT_W - 2 * GAP) / (FONT * 0.55));

/** Where a frame landed on the sheet (so a reader can crop it back out). */
export interface PlacedFrame {
  segment: number;
  block: number;
  frame: number;
  left: number;
  top: number;
  size: number;
  seconds: number | null;
}

export interface RenderedSheet {
  png: Uint8Array;
  width: number;
  height: number;
  frames: PlacedFrame[];
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    for (let w = word; w.length > 0; w = w.slice(width)) {
      const piece = w.slice(0, width);
      if (line.length > 0 && line.length + 1 + piece.length > width) {
        lines.push(line);
        line = "";
      }
      line = line.length > 0 ? `${line} ${piece}` : piece;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

const seconds = (t: number | null) => (t === null ? "?" : `${Number(t.toFixed(3))}s`);

function panelLines(d: DecodedClip): { text: string; bold?: boolean }[] {
  const c = d.clip;
  const direction = c.loss ? "text → vision (loss on the frames)" : "vision → text (loss on the text)";
  return [
    { text: `segment ${c.segment}, block ${c.block + 1}: ${c.frames} frame${c.frames === 1 ? "" : "s"}`, bold: true },
    ...wrap(direction, CHARS_PER_LINE).map((text) => ({ text })),
    ...wrap(c.source, CHARS_PER_LINE).map((text) => ({ text })),
    { text: "" },
    ...wrap(c.caption.length > 0 ? c.caption : "(no caption text)", CHARS_PER_LINE).map((text) => ({ text, bold: false })),
  ];
}

/** Lays out the blocks top to bottom and encodes the sheet as PNG. */
export async function renderSheetPng(title: string, clips: readonly DecodedClip[]): Promise<RenderedSheet> {
  const size = clips[0]?.size ?? 256;
  const cell = size + LABEL_H + GAP;
  const columns = Math.min(FRAMES_PER_LINE, Math.max(1, ...clips.map((d) => d.clip.frames)));
  const width = PAD + TEXT_W + GAP + columns * (size + GAP) + PAD;
  const texts: string[] = [`<text x="${PAD}" y="${PAD + FONT + 4}" font-size="${FONT + 3}" font-weight="bold">${xml(title)}</text>`];
  const composites: OverlayOptions[] = [];
  const frames: PlacedFrame[] = [];
  let top = PAD + HEADER_H;
  for (const d of clips) {
    const panel = panelLines(d);
    panel.forEach((l, k) =>
      texts.push(`<text x="${PAD}" y="${top + (k + 1) * LINE_H}" font-size="${FONT}"${l.bold ? ` font-weight="bold"` : ""}>${xml(l.text)}</text>`),
    );
    const frameRows = Math.ceil(d.clip.frames / FRAMES_PER_LINE);
    for (let f = 0; f < d.clip.frames; f++) {
      const left = PAD + TEXT_W + GAP + (f % FRAMES_PER_LINE) * (size + GAP);
      const y = top + Math.floor(f / FRAMES_PER_LINE) * cell;
      const frameBytes = size * size * 3;
      composites.push({
        input: Buffer.from(d.rgb.buffer, d.rgb.byteOffset + f * frameBytes, frameBytes),
        raw: { width: size, height: size, channels: 3 },
        left,
        top: y,
      });
      frames.push({ segment: d.clip.segment, block: d.clip.block, frame: f, left, top: y, size, seconds: d.clip.timestamps[f] ?? null });
      texts.push(
        `<text x="${left + size / 2}" y="${y + size + LABEL_H - 4}" font-size="${FONT - 1}" text-anchor="middle">${xml(`frame ${f + 1} · ${seconds(d.clip.timestamps[f] ?? null)}`)}</text>`,
      );
    }
    top += Math.max(frameRows * cell, (panel.length + 1) * LINE_H) + GAP;
    texts.push(`<line x1="${PAD}" x2="${width - PAD}" y1="${top - GAP / 2}" y2="${top - GAP / 2}" stroke="#ccc"/>`);
  }
  const height = top + PAD;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, Liberation Sans, sans-serif" fill="#222">${texts.join("")}</g></svg>`;
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }, ...composites])
    .png()
    .toBuffer();
  return { png: new Uint8Array(png), width, height, frames };
}
