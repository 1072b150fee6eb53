/** The model core of @lwm/trainer: contract, parameters, engines, reference and decoding. */
export * from "./api.js";
export { createEngine } from "./engine.js";
export { referenceForwardBackward, referenceHidden } from "./reference.js";
export { prepareRow, RowError, unmaskedPairs, type PreparedRow } from "./rows.js";
export { LayoutError } from "../ring/layout.js";
export { greedyDecode, greedyDecodeFrom, decodeFrom, referencePrefill, type DecodeOptions, type NextToken } from "./decode.js";
