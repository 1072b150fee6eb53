export { packStep, PACK_STEP_NAME, PACK_STEP_VERSION } from "./step.js";
export { packStage, shardFileName, type PackStageOptions } from "./pack-stage.js";
