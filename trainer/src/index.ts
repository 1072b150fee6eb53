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
export { readSafetensors, writeSafetensors, type Tensor } from "./checkpoint/safetensors.js";
export { HfLlamaConfig, toHfConfig } from "./checkpoint/hf-config.js";
export { saveCheckpoint, loadCheckpoint, type CheckpointContents, type LoadedCheckpoint } from "./checkpoint/checkpoint.js";
export { AdamW, type AdamWConfig } from "./optim/adamw.js";
export { planTraining, PlanError, type TrainPlan, type StagePlan, type PlanOptions } from "./train/plan.js";
export { train, paramsSha256, METRICS_FILE, type TrainOptions, type TrainSummary, type StageSummary, type EngineFactory } from "./train/trainer.js";
export { MetricsRecord, StepRecord, EvalRecord, StageRecord, readMetrics } from "./train/metrics.js";
export { lossCurveSvg, lossStageTable } from "./train/curve-html.js";
export { escapeHtml, niceTicks } from "./train/html.js";
export { EVAL_CITIES, TRAIN_CITIES, drawFacts, poolOfNumber, poolOfCity, syntheticName, type Fact, type TrainingKeys } from "./eval/facts.js";
export { layoutRetrievalPrompt, encodeRetrievalFrame, RECALL_FACT, TEMPLATE_NAMES, type TemplateName, type PromptTokenizer } from "./eval/needle.js";
export { sentenceEndIds, type NeedleCount } from "./eval/needle-run.js";
export { runNeedleEval, needleGridTable, type NeedleEvalOptions, type NeedleEvalResult } from "./eval/needle-eval.js";
export { NeedleEvalInputError } from "./eval/haystack.js";
export { needleHeatmapSvgs } from "./eval/heatmap-html.js";
