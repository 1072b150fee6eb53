export { validate, ValidateTargetError, type ValidateOptions } from "./validate.js";
export { RULES, RULE_IDS, type RuleId } from "./rules.js";
export type { ValidationError, ValidationReport } from "./report.js";
export { checkBatch, type BatchStats } from "./check-batch.js";
