import llamaTokenizer from "llama-tokenizer-js";

/**
 * Derives Hugging Face's tokenizer.json for the Llama-2 SentencePiece BPE from llama-tokenizer-js,
 * the only npm package that carries the real Llama-2 vocabulary and merges (deps.md §6). The
 * vocabulary is Meta's: it is derived at build time and never committed as a file.
 *
 * Deliberate differences from Meta's own tokenizer.json:
 * - no `added_tokens`: HF splits the input on added tokens, so a literal "<s>" in text would become
 *   BOS. SentencePiece never produces control symbols from text; without added tokens HF doesn't
 *   either ("<s>" is BPE-merged like any other text). `<unk>`, `<s>`, `</s>` stay in the model's
 *   vocabulary at ids 0, 1, 2.
 * - no post-processor: encode never adds BOS/EOS; callers add them explicitly.
 */

export const LLAMA2_VOCAB_SIZE = 32000;
/** The merge count of Llama-2's tokenizer.json, as embedded in llama-tokenizer-js 1.2.2. */
const LLAMA2_MERGE_COUNT = 61249;
const SPACE_PIECE = "▁";

export interface Llama2Source {
  vocabById: readonly string[];
  /** "left right" → priority; insertion order is merge order (llama-tokenizer-js layout). */
  merges: ReadonlyMap<string, number>;
}

/** The JSON document, with keys in a fixed order so the bytes (and their sha256) are reproducible. */
export function deriveLlama2TokenizerJson(source: Llama2Source = llamaTokenizer): object {
  const vocabById = source.vocabById;
  if (vocabById.length !== LLAMA2_VOCAB_SIZE) {
    throw new Error(`llama-tokenizer-js: expected ${LLAMA2_VOCAB_SIZE} vocabulary entries, found ${vocabById.length}`);
  }
  const vocab: Record<string, number> = {};
  vocabById.forEach((piece, id) => {
    if (Object.hasOwn(vocab, piece)) throw new Error(`llama-tokenizer-js: duplicate piece ${JSON.stringify(piece)} at id ${id}`);
    vocab[piece] = id;
  });
  expectPiece(vocab, "<unk>", 0);
  expectPiece(vocab, "<s>", 1);
  expectPiece(vocab, "</s>", 2);
  expectPiece(vocab, "<0x00>", 3);
  expectPiece(vocab, "<0xFF>", 258);

  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE_PIECE },
        { type: "Replace", pattern: { String: " " }, content: SPACE_PIECE },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE_PIECE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: orderedMerges(source.merges, vocab),
    },
  };
}

function expectPiece(vocab: Record<string, number>, piece: string, id: number): void {
  if (vocab[piece] !== id) {
    throw new Error(`llama-tokenizer-js: expected piece ${JSON.stringify(piece)} at id ${id}, found ${vocab[piece]}`);
  }
}

/**
 * llama-tokenizer-js keys each merge as "left right" with priority 2k+1 for the k-th merge of the
 * original tokenizer.json. Pieces never contain a plain space (spaces are "▁"), so the key splits
 * unambiguously; every split is checked against the vocabulary anyway.
 */
function orderedMerges(merges: ReadonlyMap<string, number>, vocab: Record<string, number>): [string, string][] {
  if (merges.size !== LLAMA2_MERGE_COUNT) {
    throw new Error(`llama-tokenizer-js: expected ${LLAMA2_MERGE_COUNT} merges, found ${merges.size}`);
  }
  const pairs: [string, string][] = [];
  let rank = 0;
  for (const [key, priority] of merges) {
    const parts = key.split(" ");
    const [left, right] = parts;
    if (parts.length !== 2 || left === undefined || right === undefined) {
      throw new Error(`llama-tokenizer-js: merge ${rank} ${JSON.stringify(key)} is not "left right"`);
    }
    if (priority !== 2 * rank + 1) {
      throw new Error(`llama-tokenizer-js: merge ${rank} has priority ${priority}, expected ${2 * rank + 1}`);
    }
    for (const piece of [left, right, left + right]) {
      if (!Object.hasOwn(vocab, piece)) {
        throw new Error(`llama-tokenizer-js: merge ${rank} ${JSON.stringify(key)} uses ${JSON.stringify(piece)}, not in the vocabulary`);
      }
    }
    pairs.push([left, right]);
    rank += 1;
  }
  return pairs;
}
