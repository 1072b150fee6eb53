/**
 * Decode benchmark: frames/s of our decode + resize + crop to rgb24 buffers (decodeFrames: one
 * fluent-ffmpeg process per clip, showinfo timestamps, frames handed to JS) against the bare ffmpeg
 * command line with the same filter chain writing the same raw frames to /dev/null. Sides alternate,
 * best of `--reps` per clip.
 *
 *   npm run bench -w @lwm/video [-- --reps 2 --dir ../shared/data/videos]
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import { decodeFrames, ffmpegBinaries, planDecode } from "../src/index.js";

const { values } = parseArgs({
  options: { reps: { type: "string", default: "2" }, dir: { type: "string", default: resolve(__dirname, "../../../../shared/data/videos") } },
});
const reps = Number(values.reps);
const dir = values.dir!;
if (!existsSync(dir)) {
  console.log(`no clips: ${dir} not found (pass --dir)`);
  process.exit(0);
}
const run = promisify(execFile);
const bins = ffmpegBinaries();
console.log(`ffmpeg: ${bins.ffmpeg} (${bins.source.ffmpeg}); all frames, 256×256 rgb24; best of ${reps}`);

// Warm-up: fluent-ffmpeg checks ffmpeg's formats once per process (seconds on a loaded machine).
const clips = readdirSync(dir)
  .filter((f) => /\.(mp4|webm)$/.test(f))
  .sort();
for await (const _ of decodeFrames(join(dir, clips[0]!), { maxFrames: 1 }));
let oursFrames = 0,
  oursS = 0,
  bareS = 0,
  pipeS = 0;
console.log("clip | frames | ours fps | bare ffmpeg > /dev/null fps | ratio | bare ffmpeg | cat fps | ratio");
for (const name of clips) {
  const file = join(dir, name);
  const plan = await planDecode(file);
  let ours = Infinity,
    bare = Infinity,
    piped = Infinity,
    frames = 0;
  const bareArgs = ["-v", "error", ...plan.args.input, "-i", file, "-vf", plan.args.filters.join(","), ...plan.args.output];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    frames = 0;
    for await (const f of decodeFrames(file)) if (f.rgb.length) frames++;
    ours = Math.min(ours, (performance.now() - t0) / 1000);
    t0 = performance.now();
    await run(bins.ffmpeg, [...bareArgs, "-y", "/dev/null"]);
    bare = Math.min(bare, (performance.now() - t0) / 1000);
    // The same frames through a pipe to `cat`: what any reading process pays for the pipe itself.
    t0 = performance.now();
    await run("sh", ["-c", `"$0" "$@" - | cat > /dev/null`, bins.ffmpeg, ...bareArgs]);
    piped = Math.min(piped, (performance.now() - t0) / 1000);
  }
  oursFrames += frames;
  oursS += ours;
  bareS += bare;
  pipeS += piped;
  console.log(
    `${name} | ${frames} | ${(frames / ours).toFixed(0)} | ${(frames / bare).toFixed(0)} | ${(bare / ours).toFixed(2)} | ${(frames / piped).toFixed(0)} | ${(piped / ours).toFixed(2)}`,
  );
}
console.log(
  `all | ${oursFrames} | ${(oursFrames / oursS).toFixed(0)} | ${(oursFrames / bareS).toFixed(0)} | ${(bareS / oursS).toFixed(2)} | ${(oursFrames / pipeS).toFixed(0)} | ${(pipeS / oursS).toFixed(2)}`,
);
