/**
 * @lwm/vqgan: frames ↔ VQGAN codes with onnxruntime.
 *   vqmodel.ts      aMUSEd's VQGAN (diffusers VQModel) as encoder/decoder graphs; build.ts makes a model folder
 *   patch-model.ts  the small model the project trains (k-means over 16×16 patches); fit.ts trains it
 *   model.ts        a model folder in onnxruntime: encode frames, decode codes
 *   encode.ts       media files → codes in batches across clips
 */
export { AMUSED_CONFIG, VqModelConfig, ModelSettings, PixelRange, PIXEL_RANGES, MODEL_FILE, ENCODER_FILE, DECODER_FILE } from "./config.js";
export { vqModelShapes } from "./names.js";
export { buildVqModel, readVqModelConfig, WEIGHTS_FILE, MODEL_WEIGHTS_FILE } from "./build.js";
export { vqEncoderGraph, vqDecoderGraph } from "./vqmodel.js";
export { patchEncoderGraph, patchDecoderGraph, referenceEncode, framesToPatches, PATCH, GRID, FRAME, CODEBOOK_FILE } from "./patch-model.js";
export { fitPatchCodebook, PatchAssigner } from "./kmeans.js";
export { fitPatchModel, collectFrames, FIT_DEFAULTS, type FitOptions, type FitReport } from "./fit.js";
export { psnr, meanColourBaseline, reconstructFromCodes } from "./quality.js";
export { VqganModel, type ModelOptions } from "./model.js";
export { readModelSettings, modelFolderSha256 } from "./model-dir.js";
export { encodeMedia, type EncodedClip, type EncodeOptions } from "./encode.js";
export { writeContactSheet } from "./contact-sheet.js";
export { writeNpy, readNpy, readCodesNpy, encodeNpy, decodeNpy } from "./npy.js";
