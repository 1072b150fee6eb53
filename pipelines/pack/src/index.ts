export { packStep, PACK_STEP_NAME, PACK_STEP_VERSION } from "./step.js";
export { packStage, type PackStageOptions } from "./pack-stage.js";
/** Moved to @lwm/shards; re-exported so callers keep working. */
export { shardFileName } from "@lwm/shards";
