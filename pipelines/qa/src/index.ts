export { assembleDocument, type DocumentForAssembly, type AssembleOptions, type QaExample, type ContextChunk } from "./assemble.js";
