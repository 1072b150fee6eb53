export { qaStep, QA_STEP_NAME, QA_STEP_VERSION, GENERATE_FILES } from "./step.js";
export { assembleDocument, type DocumentForAssembly, type AssembleOptions, type QaExample, type ContextChunk } from "./assemble.js";
