import type { Tokenizer as NativeTokenizer } from "tokenizers";
import { LLAMA2_TOKENIZER_JSON } from "./assets.js";
import { noteNativePoolStarted } from "./threads.js";
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
  const match = LONE_SURROGATE.exec(text);
  if (match !== null) {
    throw new RangeError(`${where}: lone UTF-16 surrogate at index ${match.index}; the text is not valid Unicode`);
  }
}

/** Token ids of a text with the UTF-8 byte range [starts[k], ends[k]) each token came from. */
export interface EncodedText {
  ids: Uint32Array;
  starts: Int32Array;
  ends: Int32Array;
}

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
      bytes += 4; // a surrogate pair (checkWellFormed refused lone ones): one code point
      i++;
    } else bytes += 3;
  }
  byteOf[c] = bytes;
  return byteOf.subarray(0, c + 1);
}

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
  ) {}

  /** @internal use loadTokenizer */
  static async fromFile(path: string, options: LoadTokenizerOptions = {}, hint?: string): Promise<Tokenizer> {
    const { native, sha256 } = await readTokenizerFile(path, hint);
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
    return new Tokenizer(native, path, sha256, vocabSize, idOf(options.bosToken ?? "<s>", "bos"), idOf(options.eosToken ?? "</s>", "eos"));
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

/**
 * Loads a tokenizer.json; by default the Llama-2 tokenizer this package derives at build time. Any
 * Hugging Face tokenizer.json of any vocabulary size works, given its BOS/EOS pieces.
 */
export async function loadTokenizer(path?: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (path !== undefined) return Tokenizer.fromFile(path, options);
  return Tokenizer.fromFile(LLAMA2_TOKENIZER_JSON, options, 'build it with "npm run build -w @lwm/tokenizer"');
}
