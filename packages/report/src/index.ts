/**
 * @lwm/report: one self-contained HTML page that shows a dataset and its training runs.
 *   gather/   reads an output root: stages (manifest, summary, validator), steps, lineage, runs
 *   render/   pure functions from gathered data to escaped HTML and small SVG charts
 *   sections  the page's sections; vision and QA plug in as their steps land
 */
export { buildReport, MAX_REPORT_BYTES, type ReportOptions, type ReportResult } from "./report.js";
export { SECTIONS, stagesSection, stepsSection, lineageSection, visionSection, qaSection, trainingSection } from "./sections.js";
export { absent, present, runSection, type Gathered, type GatherContext, type RenderedSection, type Section } from "./section.js";
export { html, trusted, page, dataUri, anchorId, Html, CONTENT_SECURITY_POLICY } from "./render/html.js";
export { contactSheet, CONTACT_SHEET_FRAMES, type Thumbnail } from "./render/contact-sheet.js";
export { barChart, shareBar, type BarChartOptions, type BarGroup, type BarSeries, type ShareBarPart } from "./render/charts.js";
export { discover, type DatasetFiles } from "./gather/discover.js";
export type { StageData, StageValidation } from "./gather/stages.js";
export type { StepData, RejectsData } from "./gather/steps.js";
export type { LineageData, LineageRow, LineageSegment } from "./gather/lineage.js";
export type { RunData, NeedleGrid } from "./gather/runs.js";
