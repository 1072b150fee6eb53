export { recallStep, RECALL_STEP_NAME, RECALL_STEP_VERSION } from "./step.js";
export { recallExamples, type RecallDocument, type RecallExample, type RecallOptions } from "./plant.js";
