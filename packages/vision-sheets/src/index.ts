/**
 * @lwm/vision-sheets: look at vision-language rows. A row's vision blocks become clips (codes,
 * frame times, caption), the stage's VQ decoder turns them into frames, and those become a PNG
 * contact sheet (`lwm inspect --render`) or JPEG thumbnails (`lwm report`).
 *   clips.ts       a packed row → its vision blocks with captions and timestamps
 *   decoder.ts     a VQ model folder (@lwm/vqgan) → decoded frames, with a note when it is not the shards' model
 *   sheet-png.ts   decoded blocks → one PNG, captions and times beside the frames
 *   thumbnails.ts  decoded frames → small JPEGs
 *   model-dir.ts   which model folder: --vqgan, or the recipe's `vqgan`
 */
export { rowClips, type VisionClip } from "./clips.js";
export { ClipDecoder, type DecodedClip } from "./decoder.js";
export { renderSheetPng, type PlacedFrame, type RenderedSheet } from "./sheet-png.js";
export { vqModelDir } from "./model-dir.js";
export { jpegThumbnail, type JpegThumbnail } from "./thumbnails.js";
