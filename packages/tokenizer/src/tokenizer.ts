import type { Tokenizer as NativeTokenizer } from "tokenizers";
import { LLAMA2_TOKENIZER_JSON } from "./assets.js";
import { noteNativePoolStarted } from "./threads.js";
import { safeCuts, type CutRules } from "./safe-cuts.js";
import { readTokenizerFile, TokenizerFileError } from "./tokenizer-file.js";

/** Tags, fields and text are encoded without BOS/EOS; callers add them (lwm-spec §1.4). */
const NO_SPECIAL_TOKENS = { addSpecialTokens: false } as const;

/** In a `u` regex a surrogate code unit only matches when it is unpaired. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A lone surrogate (e.g. from a JSON "\ud800" escape) is not Unicode: the native binding would
 * silently turn it into U+FFFD and SentencePiece would refuse it, so it is refused here, by name.
 */
function checkWellFormed(text: string, where: string): void {
  const problem = wellFormedProblem(text);
  if (problem !== null) throw new RangeError(`${where}: ${problem}`);
}

function wellFormedProblem(text: string): string | null {
  const match = LONE_SURROGATE.exec(text);
  return match === null ? null : `lone UTF-16 surrogate at index ${match.index}; the text is not valid Unicode`;
}

/** Token ids of a text with the UTF-8 byte range [starts[k], ends[k]) each token came from. */
export interface EncodedText {
  ids: Uint32Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** One document's ids and byte offsets, or why it could not be tokenized (the other documents are unaffected). */
export type DocumentIds = ({ ok: true } & EncodedText) | { ok: false; reason: string };

/** byteOf[c] = UTF-8 bytes before code point c of `text` (c = 0 … code points). */
function utf8OffsetsOfCodePoints(text: string): Int32Array {
  const byteOf = new Int32Array(text.length + 1);
  let bytes = 0;
  let c = 0;
  for (let i = 0; i < text.length; i++, c++) {
    byteOf[c] = bytes;
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4; // a surrogate pair (well-formedness was checked): one code point
      i++;
    } else bytes += 3;
  }
  byteOf[c] = bytes;
  return byteOf.subarray(0, c + 1);
}

export interface EncodeDocumentsOptions {
  /** Target piece length in UTF-16 code units for long documents (default 16384). */
  pieceChars?: number;
}

const DEFAULT_PIECE_CHARS = 16 * 1024;
/** Characters per native batch inside encodeDocuments (see encodeInBatches). */
const BATCH_CHARS = 1024 * 1024;

export interface LoadTokenizerOptions {
  /** The piece whose id is BOS; default "<s>" (Llama-2). */
  bosToken?: string;
  /** The piece whose id is EOS; default "</s>" (Llama-2). */
  eosToken?: string;
}

/**
 * A text tokenizer backed by Hugging Face's native `tokenizers`. `encode` returns the pieces of the
 * text alone (no BOS/EOS); `decode` renders text and leaves BOS/EOS out, as SentencePiece does.
 */
export class Tokenizer {
  private constructor(
    private readonly native: NativeTokenizer,
    /** The tokenizer.json this was loaded from. */
    readonly path: string,
    /** sha256 of the tokenizer.json bytes, lowercase hex: the tokenizer's identity in shard metadata. */
    readonly sha256: string,
    /** Size of the text embedding table: one past the largest id, added tokens included. */
    readonly vocabSize: number,
    readonly bosId: number,
    readonly eosId: number,
    /** Where long texts may be cut without changing their ids (see safe-cuts.ts). */
    readonly cutRules: CutRules,
  ) {}

  /** @internal use loadTokenizer */
  static async fromFile(path: string, options: LoadTokenizerOptions = {}, hint?: string): Promise<Tokenizer> {
    const { native, sha256, cutRules } = await readTokenizerFile(path, hint);
    const ids = Object.values(native.getVocab(true));
    if (ids.length === 0) throw new TokenizerFileError(path, "the vocabulary is empty");
    const vocabSize = ids.reduce((max, id) => Math.max(max, id), 0) + 1;
    const idOf = (piece: string, role: string): number => {
      const id = native.tokenToId(piece);
      if (id === null) {
        throw new TokenizerFileError(path, `has no ${role} token ${JSON.stringify(piece)} (pass loadTokenizer's ${role}Token option)`);
      }
      return id;
    };
    return new Tokenizer(native, path, sha256, vocabSize, idOf(options.bosToken ?? "<s>", "bos"), idOf(options.eosToken ?? "</s>", "eos"), cutRules);
  }

  /** The ids of `text`, without BOS/EOS; "" gives no ids. */
  async encode(text: string): Promise<Uint32Array> {
    checkWellFormed(text, "encode");
    const encoding = await this.native.encode(text, null, NO_SPECIAL_TOKENS);
    return Uint32Array.from(encoding.getIds());
  }

  /** `encode` over many texts at once, in parallel on the native thread pool (see limitTokenizerThreads). */
  async encodeBatch(texts: readonly string[]): Promise<Uint32Array[]> {
    if (texts.length === 0) return [];
    texts.forEach((text, i) => checkWellFormed(text, `encodeBatch text ${i}`));
    noteNativePoolStarted();
    const encodings = await this.native.encodeBatch([...texts], NO_SPECIAL_TOKENS);
    return encodings.map((encoding) => Uint32Array.from(encoding.getIds()));
  }

  /**
   * Documents of any length → their ids, exactly as `encode` gives them, and each token's UTF-8 byte
   * range in the document, one result per text. A
   * long document is cut at safe boundaries (safe-cuts.ts) into pieces of about `pieceChars`, and
   * the pieces of all documents are encoded in parallel native batches (encodeInBatches), so time
   * and memory grow linearly with the text. A document that cannot be tokenized (e.g. a lone surrogate, or an
   * error of the native library) gets its reason and leaves the others alone.
   */
  async encodeDocuments(texts: readonly string[], options: EncodeDocumentsOptions = {}): Promise<DocumentIds[]> {
    const pieceChars = options.pieceChars ?? DEFAULT_PIECE_CHARS;
    if (!Number.isInteger(pieceChars) || pieceChars < 1) throw new RangeError(`encodeDocuments: pieceChars must be a positive integer, got ${pieceChars}`);
    const results: (DocumentIds | undefined)[] = texts.map((text) => {
      const problem = wellFormedProblem(text);
      return problem === null ? undefined : { ok: false, reason: problem };
    });
    // Pieces of every well-formed document, in order; a piece after the first carries a "\n" prefix.
    // `byteStart`: UTF-8 bytes of the document before the piece, to move the piece's offsets into place.
    const pieces: { doc: number; text: string; prefixed: boolean; byteStart: number }[] = [];
    texts.forEach((text, doc) => {
      if (results[doc] !== undefined) return;
      let start = 0;
      let byteStart = 0;
      for (const cut of [...safeCuts(text, this.cutRules, pieceChars), text.length]) {
        const body = text.slice(start, cut);
        pieces.push({ doc, text: start === 0 ? body : `\n${body}`, prefixed: start > 0, byteStart });
        byteStart += Buffer.byteLength(body, "utf8");
        start = cut;
      }
    });
    const prefix = pieces.some((p) => p.prefixed) ? await this.encode("\n") : new Uint32Array(0);
    let pieceIds: (EncodedText | Error)[];
    try {
      pieceIds = await this.encodeInBatches(pieces.map((p) => p.text));
    } catch {
      // One bad text fails the whole native batch: redo document by document to isolate it.
      pieceIds = new Array<EncodedText | Error>(pieces.length);
      for (let doc = 0; doc < texts.length; doc += 1) {
        const indices = pieces.flatMap((p, i) => (p.doc === doc ? [i] : []));
        if (indices.length === 0) continue;
        try {
          const ids = await this.encodeInBatches(indices.map((i) => (pieces[i] as { text: string }).text));
          indices.forEach((i, k) => (pieceIds[i] = ids[k] as EncodedText));
        } catch (err) {
          for (const i of indices) pieceIds[i] = err instanceof Error ? err : new Error(String(err));
        }
      }
    }
    const parts: EncodedText[][] = texts.map(() => []);
    pieces.forEach((piece, i) => {
      if (results[piece.doc] !== undefined) return;
      const encoded = pieceIds[i] as EncodedText | Error;
      if (encoded instanceof Error) {
        results[piece.doc] = { ok: false, reason: `tokenizer error: ${encoded.message}` };
        return;
      }
      if (piece.prefixed && !startsWith(encoded.ids, prefix)) {
        // The proof of safe-cuts.ts says this cannot happen; refuse rather than keep wrong ids.
        results[piece.doc] = { ok: false, reason: `tokenizer error: piece ${parts[piece.doc]?.length ?? 0} does not start with the ids of "\\n"` };
        return;
      }
      parts[piece.doc]?.push(placePiece(encoded, piece.prefixed ? prefix.length : 0, piece.byteStart - (piece.prefixed ? 1 : 0)));
    });
    return texts.map((_, doc) => results[doc] ?? { ok: true, ...concatEncoded(parts[doc] ?? []) });
  }

  /**
   * `encodeBatch` plus, per token, the UTF-8 byte range [start, end) of the text it was made from
   * (HF tokenizers reports code-point offsets; they are converted here). Byte-fallback pieces of one
   * character share that character's range.
   */
  async encodeBatchWithOffsets(texts: readonly string[]): Promise<EncodedText[]> {
    if (texts.length === 0) return [];
    texts.forEach((text, i) => checkWellFormed(text, `encodeBatchWithOffsets text ${i}`));
    noteNativePoolStarted();
    const encodings = await this.native.encodeBatch([...texts], NO_SPECIAL_TOKENS);
    return encodings.map((encoding, i) => {
      const byteOf = utf8OffsetsOfCodePoints(texts[i] as string);
      const offsets = encoding.getOffsets();
      const starts = new Int32Array(offsets.length);
      const ends = new Int32Array(offsets.length);
      offsets.forEach((range, k) => {
        starts[k] = byteOf[range[0] as number] as number;
        ends[k] = byteOf[range[1] as number] as number;
      });
      return { ids: Uint32Array.from(encoding.getIds()), starts, ends };
    });
  }

  /**
   * encodeBatch over consecutive groups of about BATCH_CHARS characters: the native library keeps a
   * full Encoding (strings, offsets, masks: ~100 bytes a token) for every text of a batch, so the
   * groups bound that memory whatever the total length, and each group still spreads over all threads.
   */
  private async encodeInBatches(texts: readonly string[]): Promise<EncodedText[]> {
    const out: EncodedText[] = [];
    let group: string[] = [];
    let chars = 0;
    for (const text of texts) {
      group.push(text);
      chars += text.length;
      if (chars >= BATCH_CHARS) {
        out.push(...(await this.encodeBatchWithOffsets(group)));
        group = [];
        chars = 0;
      }
    }
    out.push(...(await this.encodeBatchWithOffsets(group)));
    return out;
  }

  /** The text of `ids`; BOS, EOS and the file's special tokens are not rendered. */
  async decode(ids: ArrayLike<number>): Promise<string> {
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i += 1) {
      const id = ids[i]!;
      this.checkId(id);
      if (id !== this.bosId && id !== this.eosId) kept.push(id);
    }
    return this.native.decode(kept, true);
  }

  /** The vocabulary piece of one id, e.g. 15043 → "▁Hello" (for inspect output). */
  pieceOf(id: number): string {
    this.checkId(id);
    const piece = this.native.idToToken(id);
    if (piece === null) throw new RangeError(`${this.path}: no piece has id ${id}`);
    return piece;
  }

  /** The id of one vocabulary piece, or undefined when the vocabulary has no such piece. */
  idOf(piece: string): number | undefined {
    return this.native.tokenToId(piece) ?? undefined;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`${this.path}: token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}

function startsWith(ids: Uint32Array, prefix: Uint32Array): boolean {
  if (ids.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (ids[i] !== prefix[i]) return false;
  return true;
}

/** A piece's tokens after its first `drop` (the "\n" prefix), offsets moved by `shift` bytes. */
function placePiece(piece: EncodedText, drop: number, shift: number): EncodedText {
  const starts = piece.starts.slice(drop);
  const ends = piece.ends.slice(drop);
  for (let k = 0; k < starts.length; k += 1) {
    starts[k] = (starts[k] as number) + shift;
    ends[k] = (ends[k] as number) + shift;
  }
  return { ids: piece.ids.subarray(drop), starts, ends };
}

function concatEncoded(parts: readonly EncodedText[]): EncodedText {
  if (parts.length === 1) return parts[0] as EncodedText;
  const n = parts.reduce((sum, p) => sum + p.ids.length, 0);
  const out: EncodedText = { ids: new Uint32Array(n), starts: new Int32Array(n), ends: new Int32Array(n) };
  let at = 0;
  for (const p of parts) {
    out.ids.set(p.ids, at);
    out.starts.set(p.starts, at);
    out.ends.set(p.ends, at);
    at += p.ids.length;
  }
  return out;
}

/**
 * Loads a tokenizer.json; by default the Llama-2 tokenizer this package derives at build time. Any
 * Hugging Face tokenizer.json of any vocabulary size works, given its BOS/EOS pieces.
 */
export async function loadTokenizer(path?: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (path !== undefined) return Tokenizer.fromFile(path, options);
  return Tokenizer.fromFile(LLAMA2_TOKENIZER_JSON, options, 'build it with "npm run build -w @lwm/tokenizer"');
}
