import { z } from "zod";

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase hex sha256");

const halfOpenRange = () =>
  z
    .object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() })
    .refine((r) => r.end >= r.start, { message: "end must be >= start", path: ["end"] });

/** A byte range [start, end) of the raw (undecoded) source file. */
export const ByteRange = halfOpenRange();
export type ByteRange = z.infer<typeof ByteRange>;

/** A range [start, end) of token indices inside a tokenized document (windows record this). */
export const TokenRange = halfOpenRange();
export type TokenRange = z.infer<typeof TokenRange>;

/**
 * On a window of a document (an example cut from it): the UTF-8 byte range of the window's tokens
 * in the document's cleaned text (work/books/documents/, `text`), from the tokenizer's offsets.
 */
const textRange = () => ByteRange.optional();

/** Where an example came from: from any training row back to the bytes it was made of. */
export const Provenance = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("text-file"),
    /** Path as given in the recipe (relative to the recipe's directory when it was relative). */
    file: z.string(),
    fileSha256: Sha256Hex,
    bytes: ByteRange,
    tokens: TokenRange.optional(),
    text: textRange(),
    /**
     * The file's bytes that hold exactly the cleaned text (of the document; of a window: of its
     * tokens), present when the cleaned text is a verbatim slice of the file (no CRLF or
     * normalisation inside it): a reader slices the file here without re-tokenizing.
     */
    exactBytes: ByteRange.optional(),
  }),
  z.object({
    kind: z.literal("jsonl"),
    file: z.string(),
    fileSha256: Sha256Hex,
    /** 0-based line number in the (decompressed) file. */
    line: z.number().int().nonnegative(),
    /** Byte range of the line in the decompressed stream. */
    bytes: ByteRange,
    tokens: TokenRange.optional(),
    text: textRange(),
  }),
  z.object({
    kind: z.literal("parquet"),
    file: z.string(),
    fileSha256: Sha256Hex,
    rowGroup: z.number().int().nonnegative(),
    /** Row index within the row group. */
    row: z.number().int().nonnegative(),
    tokens: TokenRange.optional(),
    text: textRange(),
  }),
  z.object({
    kind: z.literal("epub"),
    file: z.string(),
    fileSha256: Sha256Hex,
    /** Zip entry names (spine order) the document was assembled from. */
    entries: z.array(z.string()).min(1),
    /** Byte range in the concatenation of the entries' extracted text, when a document is part of the book. */
    bytes: ByteRange.optional(),
    tokens: TokenRange.optional(),
    text: textRange(),
  }),
  z.object({
    kind: z.literal("media"),
    file: z.string(),
    fileSha256: Sha256Hex,
    /** Presentation timestamps (seconds) of the frames that were encoded. */
    frameTimestamps: z.array(z.number().nonnegative()),
    /** Index of each encoded frame in the decoded stream, counted from the clip window's first frame when there is a window (video only). */
    frameIndices: z.array(z.number().int().nonnegative()).optional(),
    /** The clip window [startS, endS) of the file's timeline, when the corpus row gave one. */
    clip: z.object({ startS: z.number().nonnegative(), endS: z.number().nonnegative().optional() }).optional(),
    /** The corpus row the sample came from (vision step): file relative to the recipe, position, id and extra columns. */
    corpus: z
      .object({
        file: z.string(),
        /** 0-based line (JSONL), data row (CSV) or row (Parquet, across row groups). */
        row: z.number().int().nonnegative(),
        id: z.string().optional(),
        /** Columns the mapping does not use, as read. */
        extra: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
      })
      .optional(),
  }),
  z.object({
    kind: z.literal("qa"),
    /** Ids of the document's chunks that make the context, in order (the QA pairs were written about some of them). */
    chunkIds: z.array(z.string()).min(1),
    /** The document the chunks belong to (its documentId in the books step's documents). */
    document: z.string(),
    /** The book file it was read from, as the recipe names it (not `file`: that names an input read as such). */
    book: z.string().optional(),
    /** The context's range of the document's tokens. */
    tokens: TokenRange.optional(),
    /** The QA pairs asked, in order (ids of the qa step's QA records). */
    qaIds: z.array(z.string()).min(1),
    /** The generator's model (or rule) name. */
    model: z.string(),
  }),
  z.object({
    kind: z.literal("recall"),
    /** The document the haystack span was cut from (its documentId in the books step's documents). */
    document: z.string(),
    /** The book file it was read from, as the recipe names it. */
    book: z.string().optional(),
    /** The haystack's range of the document's tokens. */
    tokens: TokenRange,
    /** The planted facts (training pool), with the relative depth each was asked to go at. */
    facts: z.array(z.object({ city: z.string(), number: z.string().regex(/^\d{7}$/), depth: z.number().min(0).max(1) })).min(1),
    /** Indices into `facts` of the facts the question asks for, in the order asked. */
    asked: z.array(z.number().int().nonnegative()).min(1),
  }),
  z.object({
    kind: z.literal("synthetic"),
    /** Name of the generator (e.g. the bundled sample text or a test fixture). */
    generator: z.string(),
    seed: z.number().int(),
    index: z.number().int().nonnegative(),
  }),
]);
export type Provenance = z.infer<typeof Provenance>;
