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
  type StageExamples,
} from "./step-outputs.js";
export { tokenArrayOf, type TokenArray } from "./arrow-table.js";
