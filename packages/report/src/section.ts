/**
 * A report is a list of sections. Each section reads what it shows (`gather`, file system only)
 * and turns that into markup (`render`, a pure function of the gathered data), so a new kind of
 * data (vision contact sheets, QA examples) is one more section: its gather says `absent` with a
 * reason when the dataset has nothing for it, and the page says so instead of showing nothing.
 */
import type { Html } from "./render/html.js";
import type { DatasetFiles } from "./gather/discover.js";
import type { StageData } from "./gather/stages.js";

export type Gathered<D> =
  { present: true; data: D; /** Things a person should know are wrong or missing. */ problems: string[] } | { present: false; why: string };

export const present = <D>(data: D, problems: string[] = []): Gathered<D> => ({ present: true, data, problems });
export const absent = <D>(why: string): Gathered<D> => ({ present: false, why });

/** What every section's gather gets: the files found, and the stages (read once, shared). */
export interface GatherContext {
  files: DatasetFiles;
  stages: StageData[];
  /** Rows sampled per stage for lineage and vision. */
  sampleRows: number;
  /** Where the VQ model that decodes vision rows is: a folder, or a recipe whose `vqgan` names it. */
  vision: { vqgan?: string; recipe?: string };
}

export interface Section<D> {
  /** In-page anchor. */
  readonly id: string;
  readonly title: string;
  gather(ctx: GatherContext): Promise<Gathered<D>>;
  render(data: D): Html;
}

/** A section after gather and render: what the page lays out. */
export interface RenderedSection {
  id: string;
  title: string;
  /** null when absent (then `why` says why). */
  body: Html | null;
  why: string | null;
  problems: string[];
}

/** Runs one section; a gather that throws becomes an absent section naming the error (the rest of the page still renders). */
export async function runSection<D>(section: Section<D>, ctx: GatherContext): Promise<RenderedSection> {
  let g: Gathered<D>;
  try {
    g = await section.gather(ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { id: section.id, title: section.title, body: null, why: `could not be read: ${message}`, problems: [`${section.title}: ${message}`] };
  }
  if (!g.present) return { id: section.id, title: section.title, body: null, why: g.why, problems: [] };
  return { id: section.id, title: section.title, body: section.render(g.data), why: null, problems: g.problems };
}
