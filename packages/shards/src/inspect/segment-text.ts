import type { Provenance, VocabLayout } from "@lwm/schemas";
import type { PackedRow } from "../row.js";
import type { SegmentDetail } from "./row-detail.js";

/** Anything that turns text-table ids back into text (@lwm/tokenizer's Tokenizer is one). */
export interface TokenDecoder {
  decode(ids: ArrayLike<number>): Promise<string>;
}

/** Where a segment came from, in one line: kind, file and the range or frames inside it. */
export function describeProvenance(p: Provenance): string {
  switch (p.kind) {
    case "text-file":
      return `text-file ${p.file} bytes [${p.bytes.start}, ${p.bytes.end})${p.tokens ? ` tokens [${p.tokens.start}, ${p.tokens.end})` : ""}`;
    case "jsonl":
      return `jsonl ${p.file} line ${p.line} bytes [${p.bytes.start}, ${p.bytes.end})`;
    case "parquet":
      return `parquet ${p.file} row group ${p.rowGroup} row ${p.row}`;
    case "epub":
      return `epub ${p.file} entries ${p.entries.join(", ")}`;
    case "media":
      return `media ${p.file} frames at ${p.frameTimestamps.map((t) => `${t}s`).join(", ")}`;
    case "qa":
      return `qa-chat on ${p.book ? `${p.book} (document ${p.document})` : `document ${p.document}`}: ${p.qaIds.length} question(s) by ${p.model} about context chunks ${p.chunkIds.join(", ")}`;
    case "recall":
      return `recall on ${p.document} tokens [${p.tokens.start}, ${p.tokens.end}) with ${p.facts.length} fact(s)`;
    case "synthetic":
      return `synthetic ${p.generator} seed ${p.seed} #${p.index}`;
  }
}

/**
 * Text of a segment: text spans decoded (BOS/EOS shown as <s>/</s>; token ids in brackets without
 * a decoder), one `[vision k: n frames]` marker per vision block, «…» around loss targets.
 */
export async function segmentText(
  row: PackedRow,
  seg: SegmentDetail,
  decoder: TokenDecoder | null,
  vocab: Pick<VocabLayout, "bosId" | "eosId">,
): Promise<string> {
  const { bosId: bos, eosId: eos } = vocab;
  const parts: string[] = [];
  let block = 0;
  for (const span of seg.spans) {
    let text: string;
    if (span.kind === "vision") {
      const b = seg.visionBlocks.find((v) => v.start <= span.start && span.start < v.end);
      if (b && b.start !== span.start) continue; // one marker per block
      text = `[vision ${++block}: ${b?.frames ?? 0} frame${b?.frames === 1 ? "" : "s"}]`;
    } else {
      const ids = row.tokens.subarray(span.start, span.end);
      const pieces: string[] = [];
      let from = 0;
      for (let i = 0; i <= ids.length; i++) {
        const special = i < ids.length && (ids[i] === bos || ids[i] === eos);
        if (i === ids.length || special) {
          if (i > from) pieces.push(decoder ? await decoder.decode(ids.subarray(from, i)) : `[${Array.from(ids.subarray(from, i)).join(" ")}]`);
          if (special) pieces.push(ids[i] === bos ? "<s>" : "</s>");
          from = i + 1;
        }
      }
      text = pieces.join("");
    }
    parts.push(span.loss ? `«${text}»` : text);
  }
  return parts.join("");
}
