export { sha256Hex, sha256File, stableStringify, hashParts, type JsonValue } from "./hash.js";
export { exampleIdOf } from "./example-id.js";
export { writeFileAtomic, writeJsonAtomic, AtomicFileWriter, tempPathFor, isTempName, fsyncPath } from "./atomic.js";
export { publishDir, listFiles, exists, linkOrCopy } from "./publish.js";
export { stepOutputDir, stepWorkDir, WORK_DIR, STEP_OUTPUTS, type StepOutput } from "./step-dirs.js";
export { createLogger, silentLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.js";
export { Progress, formatDuration, type ProgressOptions } from "./progress.js";
export { RejectRecord, RejectPosition, countRejects, rejectCategory } from "./rejects.js";
export { unitKey, UnitRecord, UnitFile, UNIT_RECORD_FILE, UNIT_RECORD_FORMAT, type UnitKeyParts } from "./units.js";
export { groupsOfSlice, checkSlice, type TaskSlice } from "./slice.js";
export { WorkerPool, callExport } from "./worker-pool.js";
export {
  ConfigError,
  type Step,
  type StepContext,
  type PreflightContext,
  type StepPlan,
  type WorkUnit,
  type UnitOutcome,
  type CompletedUnit,
  type FinalizeOutcome,
} from "./step.js";
export { runStep, isAlive, STEP_FILES, type RunStepOptions, type StepReport } from "./run-step.js";
export { mulberry32 } from "./random.js";
