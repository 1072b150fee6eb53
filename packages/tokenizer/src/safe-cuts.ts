/**
 * Where a long text may be cut so that tokenizing its pieces gives exactly the ids of the whole.
 *
 * A BPE model with no pre-tokenizer (Llama-2's SentencePiece BPE) sees a document as one word:
 * merges run over the whole text, which costs time and memory superlinear in its length. A cut is
 * safe where no merge can ever join the symbols on its two sides, which this module proves from
 * the tokenizer.json itself:
 *
 * - after a newline, when no vocabulary piece longer than one character and no merge contains "\n"
 *   (a newline is then its own symbol, or its byte-fallback token, and merges never touch it);
 * - before a space that follows a non-space, when the space symbol (" ", or what the normalizer
 *   replaces it with, "▁") only ever opens a piece: every piece and merge result has the form
 *   /^▁*[^▁]*$/, so no piece holds a non-space followed by a space.
 *
 * The normalizer must be one this proof covers (Prepend and plain-string Replace, which act per
 * character or at the start) and there must be no pre-tokenizer and no added token containing a
 * boundary character. Anything else gives no safe cuts, and texts are tokenized whole.
 *
 * A piece after the first is tokenized as "\n" + piece: the normalizer's prefix then lands before
 * the newline barrier, and dropping the ids of "\n" alone leaves the piece's ids as they are inside
 * the whole text (Tokenizer.encodeDocuments checks that prefix on every piece).
 */
import { z } from "zod";

export interface CutRules {
  /** A cut right after "\n" is safe. */
  newline: boolean;
  /** A cut right before a space symbol that follows a non-space is safe. */
  space: boolean;
  /** Characters that become the space symbol (" " and the Replace target, e.g. "▁"). */
  spaceChars: string;
}

export const NO_CUTS: CutRules = { newline: false, space: false, spaceChars: "" };

const Normalizer: z.ZodType<{ type: string; normalizers?: unknown[]; prepend?: string; pattern?: unknown; content?: string }> = z.looseObject({
  type: z.string(),
  normalizers: z.array(z.unknown()).optional(),
  prepend: z.string().optional(),
  pattern: z.unknown().optional(),
  content: z.string().optional(),
});

const TokenizerShape = z.looseObject({
  normalizer: z.unknown().nullish(),
  pre_tokenizer: z.unknown().nullish(),
  added_tokens: z.array(z.looseObject({ content: z.string() })).nullish(),
  model: z.looseObject({
    type: z.string().optional(),
    vocab: z.record(z.string(), z.number()).optional(),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])).optional(),
  }),
});

/** The flat list of normalizers, or null when one is not covered by the proof. */
function plainNormalizers(json: unknown): { prepend: string[]; replace: { from: string; to: string }[] } | null {
  const out = { prepend: [] as string[], replace: [] as { from: string; to: string }[] };
  const visit = (n: unknown): boolean => {
    if (n === null || n === undefined) return true;
    const parsed = Normalizer.safeParse(n);
    if (!parsed.success) return false;
    const { type } = parsed.data;
    if (type === "Sequence") return (parsed.data.normalizers ?? []).every(visit);
    if (type === "Prepend" && parsed.data.prepend !== undefined) {
      out.prepend.push(parsed.data.prepend);
      return true;
    }
    if (type === "Replace") {
      const pattern = z.object({ String: z.string() }).safeParse(parsed.data.pattern);
      if (!pattern.success || parsed.data.content === undefined) return false;
      out.replace.push({ from: pattern.data.String, to: parsed.data.content });
      return true;
    }
    return false;
  };
  return visit(json) ? out : null;
}

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/** The safe cuts of the tokenizer described by a parsed tokenizer.json. */
export function cutRulesOf(json: unknown): CutRules {
  const shape = TokenizerShape.safeParse(json);
  if (!shape.success) return NO_CUTS;
  const { model, pre_tokenizer: preTokenizer, added_tokens: added } = shape.data;
  if (model.type !== "BPE" || preTokenizer !== null || !model.vocab || !model.merges) return NO_CUTS;
  const normalizers = plainNormalizers(shape.data.normalizer);
  if (!normalizers) return NO_CUTS;
  // Replace rules act on single characters only here; a longer pattern could span a cut.
  if (normalizers.replace.some((r) => [...r.from].length !== 1 || [...r.to].length !== 1)) return NO_CUTS;
  if (normalizers.replace.some((r) => r.from === "\n" || r.to === "\n") || normalizers.prepend.some((p) => p.includes("\n"))) return NO_CUTS;

  const pieces = Object.keys(model.vocab);
  const mergeParts = model.merges.map((m) => (typeof m === "string" ? (m.split(" ") as [string, string]) : m));
  const addedTexts = (added ?? []).map((t) => t.content);

  const newline =
    !addedTexts.some((t) => t.includes("\n")) &&
    !pieces.some((p) => p.length > 1 && p.includes("\n")) &&
    !mergeParts.some(([a, b]) => a.includes("\n") || b.includes("\n") || BYTE_PIECE.test(a) || BYTE_PIECE.test(b));

  const spaceRule = normalizers.replace.find((r) => r.from === " ");
  const symbol = spaceRule ? spaceRule.to : " ";
  const chars = spaceRule ? ` ${symbol}` : " ";
  // Other Replace rules must neither make nor unmake the space symbol.
  const otherReplaces = normalizers.replace.filter((r) => r !== spaceRule);
  const opensOnly = (piece: string): boolean => {
    let i = 0;
    while (piece.startsWith(symbol, i)) i += symbol.length;
    return !piece.includes(symbol, i);
  };
  const space =
    !otherReplaces.some((r) => r.from === symbol || r.to === symbol || r.from === " " || r.to === " ") &&
    !addedTexts.some((t) => [...chars].some((c) => t.includes(c))) &&
    pieces.every(opensOnly) &&
    mergeParts.every(([a, b]) => opensOnly(a + b));

  return { newline, space, spaceChars: space ? chars : "" };
}

/**
 * Cut positions (UTF-16 indices, increasing, inside (0, text.length)) splitting `text` into pieces
 * of about `pieceChars`: the last newline cut in the second half of each window, else the safe cut
 * nearest before the window's end, else the first one after it. A stretch with no safe cut stays
 * whole.
 */
export function safeCuts(text: string, rules: CutRules, pieceChars: number): number[] {
  const cuts: number[] = [];
  if (!rules.newline && !rules.space) return cuts;
  const isSpace = (i: number): boolean => rules.spaceChars.includes(text.charAt(i));
  const isCut = (i: number): boolean => (rules.newline && text.charCodeAt(i - 1) === 0x0a) || (rules.space && isSpace(i) && !isSpace(i - 1));
  const isNewlineCut = (i: number): boolean => rules.newline && text.charCodeAt(i - 1) === 0x0a;
  let start = 0;
  while (text.length - start > pieceChars) {
    const end = start + pieceChars;
    const half = start + Math.max(1, Math.floor(pieceChars / 2));
    let cut = -1;
    for (let i = end; i >= half && cut < 0; i -= 1) if (isNewlineCut(i)) cut = i;
    for (let i = end; i > start && cut < 0; i -= 1) if (isCut(i)) cut = i;
    for (let i = end + 1; i < text.length && cut < 0; i += 1) if (isCut(i)) cut = i;
    if (cut < 0) break;
    cuts.push(cut);
    start = cut;
  }
  return cuts;
}
