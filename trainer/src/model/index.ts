/** The model core of @lwm/trainer as others use it: contract, parameters, engine and decoding (the float64 reference and row preparation stay internal). */
export * from "./api.js";
export { createEngine } from "./engine.js";
export { RowError } from "./rows.js";
export { LayoutError } from "../ring/layout.js";
export { greedyDecode, greedyDecodeFrom, decodeFrom, type DecodeOptions, type NextToken } from "./decode.js";
