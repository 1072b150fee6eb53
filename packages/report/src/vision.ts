/**
 * The Vision section: contact sheets of a few vision rows, decoded by the stage's VQ model
 * (@lwm/vision-sheets), each block's frames as JPEG thumbnails beside its caption. The page holds
 * at most CONTACT_SHEET_FRAMES frames in all, so its size does not grow with the dataset.
 */
import { join } from "node:path";
import { shardPaths, ShardReader, type TokenDecoder } from "@lwm/shards";
import { loadTokenizer } from "@lwm/tokenizer";
import { ClipDecoder, jpegThumbnail, rowClips, vqModelDir, type VisionClip } from "@lwm/vision-sheets";
import { cutText, sampleRowIndices } from "./gather/lineage.js";
import { CONTACT_SHEET_FRAMES, contactSheet, type Thumbnail } from "./render/contact-sheet.js";
import { html, type Html } from "./render/html.js";
import { absent, present, type Section } from "./section.js";

/** Blocks shown at most (each gets a share of the frame budget). */
const MAX_SHEETS = 6;
/** Rows read per vision stage while looking for blocks. */
const ROWS_PER_STAGE = 4;

export interface VisionSheet {
  stage: string;
  row: number;
  shard: string;
  shardRow: number;
  segment: number;
  block: number;
  /** Generation (loss on the frames) or understanding (loss on the text). */
  generated: boolean;
  source: string;
  caption: string;
  frames: number;
  thumbnails: Thumbnail[];
}

export interface VisionData {
  model: string;
  notes: string[];
  sheets: VisionSheet[];
}

interface FoundClip {
  stage: string;
  row: number;
  shard: string;
  shardRow: number;
  clip: VisionClip;
  reader: ShardReader;
}

async function tokenDecoder(): Promise<TokenDecoder | null> {
  try {
    return await loadTokenizer();
  } catch {
    return null;
  }
}

/** The sampled rows' vision blocks, at most MAX_SHEETS, stage by stage. */
async function findClips(outDir: string, stages: { name: string; rows: number }[], decoder: TokenDecoder | null, readers: ShardReader[]): Promise<FoundClip[]> {
  const found: FoundClip[] = [];
  for (const stage of stages) {
    const wanted = sampleRowIndices(stage.rows, ROWS_PER_STAGE);
    let first = 0;
    for (const path of await shardPaths(join(outDir, stage.name))) {
      const reader = await ShardReader.open(path);
      readers.push(reader);
      for (const n of wanted.filter((w) => w >= first && w < first + reader.numRows)) {
        const row = await reader.row(n - first);
        for (const clip of await rowClips(row, reader.meta.vocab, decoder)) {
          if (found.length === MAX_SHEETS) return found;
          found.push({ stage: stage.name, row: n, shard: reader.name, shardRow: n - first, clip, reader });
        }
      }
      first += reader.numRows;
    }
  }
  return found;
}

export const visionSection: Section<VisionData> = {
  id: "vision",
  title: "Vision",
  async gather(ctx) {
    const stages = ctx.stages.filter((s) => (s.summary?.visionTokens ?? 0) > 0).map((s) => ({ name: s.name, rows: s.summary!.rows }));
    if (stages.length === 0) return absent("this dataset has no vision stages (no vision tokens in any row)");
    if (ctx.vision.vqgan === undefined && ctx.vision.recipe === undefined)
      return absent(
        `stages ${stages.map((s) => s.name).join(", ")} hold vision tokens; give the VQ model that decodes them (lwm report --vqgan DIR, or --recipe recipe.json whose vqgan names it) to see contact sheets`,
      );
    const modelDir = await vqModelDir(ctx.vision);
    const readers: ShardReader[] = [];
    try {
      const found = await findClips(ctx.files.outDir, stages, await tokenDecoder(), readers);
      const notes = new Set<string>();
      const sheets: VisionSheet[] = [];
      let budget = CONTACT_SHEET_FRAMES;
      const decoders = new Map<string | null, ClipDecoder>();
      try {
        for (const [k, f] of found.entries()) {
          if (budget === 0) break;
          const sha = f.reader.meta.vqganSha256;
          let decoder = decoders.get(sha);
          if (!decoder) decoders.set(sha, (decoder = await ClipDecoder.open(modelDir, sha)));
          if (decoder.note) notes.add(`stage ${f.stage}: ${decoder.note}`);
          const decoded = await decoder.decode(f.clip, `stage ${f.stage} row ${f.row}`);
          // Each remaining block gets an equal share of what is left of the page's frame budget.
          const share = Math.max(1, Math.floor(budget / (found.length - k)));
          const frames = sampleRowIndices(f.clip.frames, Math.min(share, f.clip.frames));
          budget -= frames.length;
          sheets.push({
            stage: f.stage,
            row: f.row,
            shard: f.shard,
            shardRow: f.shardRow,
            segment: f.clip.segment,
            block: f.clip.block,
            generated: f.clip.loss,
            source: f.clip.source,
            caption: cutText(f.clip.caption),
            frames: f.clip.frames,
            thumbnails: await Promise.all(frames.map((i) => jpegThumbnail(decoded, i))),
          });
        }
      } finally {
        for (const d of decoders.values()) await d.release();
      }
      // Shown in the section, not counted as problems: which hash a producer records for its model is not settled yet (see ClipDecoder).
      return present({ model: modelDir, notes: [...notes], sheets });
    } finally {
      for (const r of readers) await r.close();
    }
  },
  render: renderVision,
};

export function renderVision(d: VisionData): Html {
  const shown = d.sheets.reduce((n, s) => n + s.thumbnails.length, 0);
  return html`<p class="muted">Decoded with the VQ model <code>${d.model}</code>: ${d.sheets.length} vision block(s) of sampled rows, ${shown} frame(s) shown (at most ${CONTACT_SHEET_FRAMES} on the page).</p>
${d.notes.map((n) => html`<p class="absent">${n}</p>`)}
${d.sheets.map(
  (s) => html`<h3>${s.stage} row ${s.row} (${s.shard} row ${s.shardRow}), segment ${s.segment}, block ${s.block + 1}</h3>
<p class="muted">${s.source}; ${s.generated ? "text → vision: loss on the frames" : "vision → text: loss on the text"}; ${s.thumbnails.length} of ${s.frames} frame(s) shown</p>
${contactSheet(s.thumbnails, s.caption, `${s.stage} row ${s.row} segment ${s.segment}`)}`,
)}`;
}
