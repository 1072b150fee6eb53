export { ExamplesWriter, readExamplesFile, EXAMPLE_COLUMNS, type ExamplesFileSummary, type ExamplesWriterOptions } from "./examples-file.js";
export { DocumentsWriter, readDocumentsFile, DOCUMENT_COLUMNS, type DocumentsFileSummary } from "./documents-file.js";
export {
  partFileName,
  readExamplesIndex,
  writeExamplesIndex,
  readDocumentsIndex,
  writeDocumentsIndex,
  readStageExamples,
  readDocuments,
  findStageExamples,
  openPublishedDocuments,
  DOCUMENTS_STEP,
  type PublishedDocuments,
  type StageExamples,
} from "./step-outputs.js";
export {
  publishStageExamples,
  unitExamplesPart,
  stagePlansOfUnits,
  ExamplesUnitResult,
  type StageExamplesUnit,
  noExamplesPlan,
  lossTokensOf,
  type ExamplesHeader,
  type ExamplesPartCounts,
  type StagePart,
  type StagePlan,
} from "./publish-stage-examples.js";
export { tokenArrayOf, type TokenArray } from "./arrow-table.js";
