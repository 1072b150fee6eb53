/**
 * A contact sheet: a vision row's frames as JPEG thumbnails in data: URIs (the page loads nothing),
 * with the caption beside them. For the vision section, once a VQ decoder turns codes into frames.
 */
import { sampleRowIndices } from "../gather/lineage.js";
import { dataUri, html, type Html } from "./html.js";

/** Frames per sheet at most (the issue's bound on page size); longer clips are sampled evenly. */
export const CONTACT_SHEET_FRAMES = 16;

export interface Thumbnail {
  jpeg: Uint8Array;
  width: number;
  height: number;
  /** Presentation time in the source, when known (media provenance's frameTimestamps). */
  seconds: number | null;
}

export function contactSheet(frames: readonly Thumbnail[], caption: string, label: string): Html {
  const shown = sampleRowIndices(frames.length, CONTACT_SHEET_FRAMES).map((i) => frames[i]!);
  const cells = shown.map(
    (f) =>
      html`<figure style="margin:0"><img src="${dataUri("image/jpeg", f.jpeg)}" width="${f.width}" height="${f.height}" alt="${label}${f.seconds === null ? "" : ` at ${f.seconds}s`}"><figcaption class="muted">${f.seconds === null ? "" : `${f.seconds.toFixed(2)} s`}</figcaption></figure>`,
  );
  return html`<div class="sheet" style="display:flex;gap:12px;align-items:flex-start"><div style="display:grid;grid-template-columns:repeat(4,auto);gap:4px">${cells}</div><div class="text" style="flex:1">${caption}</div></div>${frames.length > shown.length ? html`<p class="muted">${shown.length} of ${frames.length} frames shown.</p>` : ""}`;
}
