/**
 * Which ffmpeg / ffprobe to run: $FFMPEG_PATH / $FFPROBE_PATH, else the ones on PATH, else the
 * static builds shipped in the npm packages @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe
 * (so a machine with only npm works). Resolved once per process.
 */
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where each came from, for logs and benchmarks. */
  source: { ffmpeg: BinarySource; ffprobe: BinarySource };
}
export type BinarySource = "env" | "path" | "npm";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

const require = createRequire(import.meta.url);

function fromNpm(pkg: "@ffmpeg-installer/ffmpeg" | "@ffprobe-installer/ffprobe"): string | null {
  try {
    const found = (require(pkg) as { path?: unknown }).path;
    return typeof found === "string" && executable(found) ? found : null;
  } catch {
    return null;
  }
}

function resolveOne(name: "ffmpeg" | "ffprobe"): { path: string; source: BinarySource } {
  const env = name === "ffmpeg" ? process.env.FFMPEG_PATH : process.env.FFPROBE_PATH;
  if (env) {
    if (!executable(env)) throw new Error(`$${name.toUpperCase()}_PATH=${env} is not an executable file`);
    return { path: env, source: "env" };
  }
  const system = onPath(name);
  if (system) return { path: system, source: "path" };
  const npm = fromNpm(name === "ffmpeg" ? "@ffmpeg-installer/ffmpeg" : "@ffprobe-installer/ffprobe");
  if (npm) return { path: npm, source: "npm" };
  throw new Error(`${name} not found: set $${name.toUpperCase()}_PATH, put ${name} on PATH, or install the npm package`);
}

let cached: FfmpegBinaries | null = null;

export function ffmpegBinaries(): FfmpegBinaries {
  if (!cached) {
    const ffmpeg = resolveOne("ffmpeg"),
      ffprobe = resolveOne("ffprobe");
    cached = { ffmpeg: ffmpeg.path, ffprobe: ffprobe.path, source: { ffmpeg: ffmpeg.source, ffprobe: ffprobe.source } };
  }
  return cached;
}

/** Forgets the resolved binaries (tests that change $FFMPEG_PATH). */
export function resetFfmpegBinaries(): void {
  cached = null;
}
