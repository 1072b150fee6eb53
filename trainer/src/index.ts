/**
 * @lwm/trainer: a Llama decoder trained with RingAttention on packed shards, stage by stage.
 *   model/       the Engine contract, parameters, onnx RingAttention engine, float64 reference
 *   checkpoint/  safetensors + Hugging Face config.json, atomic checkpoint folders
 *   optim/       AdamW, global-norm clipping, LR schedule
 *   data/        stage datasets over out/<stage>/ shards, deterministic resumable loader
 *   train/       progressive training loop, metrics, loss curve
 *   eval/        needle in a haystack
 * This index is the public API (what the CLI, the report and other packages use); the data loader,
 * optimizer internals and the float64 reference stay internal. Synthetic stages for tests and
 * benchmarks: "@lwm/trainer/testing".
 */
export * from "./model/index.js";
export { readSafetensors, writeSafetensors, type Tensor, type TensorMap, type SafetensorsFile } from "./checkpoint/safetensors.js";
export { HfLlamaConfig, toHfConfig, fromHfConfig } from "./checkpoint/hf-config.js";
export {
  saveCheckpoint,
  loadCheckpoint,
  loadHfCheckpoint,
  paramsToTensors,
  tensorsToParams,
  MODEL_FILE,
  CONFIG_FILE,
  OPTIMIZER_FILE,
  STATE_FILE,
  type CheckpointContents,
  type LoadedCheckpoint,
} from "./checkpoint/checkpoint.js";
export { AdamW, type AdamWConfig } from "./optim/adamw.js";
export { planTraining, PlanError, type TrainPlan, type StagePlan, type PlanOptions } from "./train/plan.js";
export {
  train,
  paramsSha256,
  METRICS_FILE,
  CURVE_FILE,
  LATEST_FILE,
  type TrainOptions,
  type TrainSummary,
  type StageSummary,
  type EngineFactory,
} from "./train/trainer.js";
export { MetricsRecord, StepRecord, EvalRecord, StageRecord, readMetrics } from "./train/metrics.js";
export { renderLossCurve, lossCurveSvg, lossStageTable } from "./train/curve-html.js";
export { escapeHtml, niceTicks } from "./train/html.js";
export { EVAL_CITIES, TRAIN_CITIES, drawFacts, drawNeedles, poolOfNumber, poolOfCity, type Fact, type FactPool, type Needle } from "./eval/facts.js";
export {
  needleText,
  questionText,
  scoreAnswer,
  buildNeedlePrompt,
  layoutRetrievalPrompt,
  encodeRetrievalFrame,
  type RetrievalFrame,
  needleDepths,
  PROMPT_PREFIX,
  promptSuffix,
  LWM_NEEDLE,
  RECALL_FACT,
  TEMPLATES,
  TEMPLATE_NAMES,
  type TemplateName,
  type RetrievalTemplate,
  type RetrievalLayout,
  type NeedlePrompt,
  type PromptTokenizer,
} from "./eval/needle.js";
export {
  runNeedleGrid,
  planNeedleCells,
  cellKey,
  sentenceEndIds,
  type NeedleCell,
  type NeedleCount,
  type NeedleGridSpec,
  type NeedleGridOptions,
  type NeedleTokenizer,
} from "./eval/needle-run.js";
export { runNeedleEval, needleGridTable, type NeedleEvalOptions, type NeedleEvalResult } from "./eval/needle-eval.js";
export { openNeedleJournal, JOURNAL_FILE, type NeedleJournal } from "./eval/needle-journal.js";
export { readHaystack, NeedleEvalInputError } from "./eval/haystack.js";
export { renderNeedleHeatmap, needleHeatmapSvgs } from "./eval/heatmap-html.js";
