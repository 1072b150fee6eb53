/**
 * Slice markers: small files a run writes about itself on the shared folder, so that a launcher
 * on any machine can tell which slices of a step are done, running or missing (datatrove's
 * `completions/`, plus start and failure):
 *
 *   <out>/work/<step>/launch/markers/<n>/<i>.start | .done | .failed   slice i of n
 *   <out>/work/<step>/launch/markers/final.start | .done | .failed    the finalizing (unsliced) run
 *
 * A `.done` marker is written only after runStep returned with every unit of the slice renamed
 * into place, so "done" never covers a half-written unit. Each marker names the recipe (sha256)
 * and step version it was written for; a marker of another recipe or version counts as absent.
 */
import { access, readFile, readdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { writeJsonAtomic, type JsonValue, type TaskSlice } from "@lwm/core";
import { stepLaunchPath } from "./plan.js";

export const MARKER_STATES = ["start", "done", "failed"] as const;
export type MarkerState = (typeof MARKER_STATES)[number];

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const SliceMarker = z.object({
  format: z.literal(1),
  step: z.string(),
  stepVersion: z.string(),
  recipeSha256: Sha256,
  /** null: the finalizing run. */
  slice: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).nullable(),
  state: z.enum(MARKER_STATES),
  host: z.string(),
  pid: z.number().int(),
  time: z.string(),
  /** done: the slice's unit counts. */
  units: z.object({ selected: z.number().int(), executed: z.number().int(), skipped: z.number().int() }).optional(),
  /** failed: why. */
  error: z.string().optional(),
});
export type SliceMarker = z.infer<typeof SliceMarker>;

/** Which step, recipe and step version markers are written for (and read against). */
export interface MarkerScope {
  outDir: string;
  step: string;
  stepVersion: string;
  recipeSha256: string;
}

export function markersDir(outDir: string, step: string): string {
  return join(outDir, "work", step, "launch", "markers");
}

/** Where slice `slice` (null: finalize) keeps its marker of `state`. */
export function markerPath(outDir: string, step: string, slice: TaskSlice | null, state: MarkerState): string {
  const dir = markersDir(outDir, step);
  return slice ? join(dir, String(slice.count), `${slice.index}.${state}`) : join(dir, `final.${state}`);
}

/** The markers of one run (a slice, or the finalizing run when `slice` is null). */
export class RunMarkers {
  constructor(
    private readonly scope: MarkerScope,
    private readonly slice: TaskSlice | null,
  ) {}

  /** Clears this run's earlier done/failed markers and records the start. */
  async start(): Promise<void> {
    for (const state of ["done", "failed"] as const) await rm(this.path(state), { force: true });
    await this.write("start", {});
  }

  async done(units: { selected: number; executed: number; skipped: number }): Promise<void> {
    await this.write("done", { units });
  }

  async failed(error: string): Promise<void> {
    await this.write("failed", { error });
  }

  private path(state: MarkerState): string {
    return markerPath(this.scope.outDir, this.scope.step, this.slice, state);
  }

  private async write(state: MarkerState, extra: Partial<SliceMarker>): Promise<void> {
    const marker: SliceMarker = {
      format: 1,
      step: this.scope.step,
      stepVersion: this.scope.stepVersion,
      recipeSha256: this.scope.recipeSha256,
      slice: this.slice,
      state,
      host: hostname(),
      pid: process.pid,
      time: new Date().toISOString(),
      ...extra,
    };
    await writeJsonAtomic(this.path(state), SliceMarker.parse(marker) as unknown as JsonValue);
  }
}

/** The valid markers of one run: each state present only when written for this recipe and step version. */
export type RunMarkerSet = Partial<Record<MarkerState, SliceMarker>>;

/** Reads the markers of slice `slice` (null: finalize), ignoring those of another recipe or step version. */
export async function readRunMarkers(scope: MarkerScope, slice: TaskSlice | null): Promise<RunMarkerSet> {
  const set: RunMarkerSet = {};
  for (const state of MARKER_STATES) {
    const marker = await readMarker(markerPath(scope.outDir, scope.step, slice, state));
    if (marker && marker.recipeSha256 === scope.recipeSha256 && marker.stepVersion === scope.stepVersion) set[state] = marker;
  }
  return set;
}

/**
 * Removes the markers a new launch must not trust: slice markers of `count` written for another
 * recipe or step version (a Kubernetes finalize counts `.done` files), and every finalize marker
 * (this launch finalizes again).
 */
export async function pruneMarkers(scope: MarkerScope, count: number): Promise<void> {
  const dir = markersDir(scope.outDir, scope.step);
  for (const state of MARKER_STATES) await rm(join(dir, `final.${state}`), { force: true });
  let names: string[];
  try {
    names = await readdir(join(dir, String(count)));
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, String(count), name);
    const marker = await readMarker(path);
    if (!marker || marker.recipeSha256 !== scope.recipeSha256 || marker.stepVersion !== scope.stepVersion) await rm(path, { force: true });
  }
}

async function readMarker(path: string): Promise<SliceMarker | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  try {
    const parsed = SliceMarker.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The markers `lwm run` keeps for one step: only for a step that `lwm launch` planned (it has a
 * launch.json), so a plain run writes nothing new.
 */
export async function markersForRun(scope: MarkerScope, slice: TaskSlice | null): Promise<RunMarkers | null> {
  try {
    await access(stepLaunchPath(scope.outDir, scope.step));
  } catch {
    return null;
  }
  return new RunMarkers(scope, slice);
}
