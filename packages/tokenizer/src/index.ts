export { loadTokenizer, Tokenizer, type EncodedText, type LoadTokenizerOptions } from "./tokenizer.js";
export { TokenizerFileError } from "./tokenizer-file.js";
export { LLAMA2_TOKENIZER_JSON } from "./assets.js";
export { visionTagPieces, VISION_OPEN_TAG, VISION_CLOSE_TAG, type VisionTagPieces } from "./vision-tags.js";
export { multimodalLayout, type MultimodalLayout } from "./layout.js";
export { limitTokenizerThreads, tokenizerThreadBudget, RAYON_THREADS_ENV } from "./threads.js";
export { loadRecipeTokenizer } from "./recipe-tokenizer.js";
