export { booksStep, BOOKS_STEP_NAME, BOOKS_STEP_VERSION } from "./step.js";
export { DOCUMENT_LIST_FILE } from "./finalize.js";
export { DocumentEntry } from "./documents.js";
export { cleanText, normalizeBody, type CleanOptions, type CleanResult } from "./clean/clean.js";
export { findGutenbergFrame, languageCode, type GutenbergFrame } from "./clean/gutenberg.js";
export { decodeUtf8, firstInvalidUtf8Offset } from "./clean/utf8.js";
export { windowsOf, windowTokens, lossFlags, type Window } from "./windows.js";
export { recleanFromProvenance } from "./reclean.js";
