export { packStage, shardFileName, type PackStageOptions } from "./pack-stage.js";
