/**
 * Decode benchmark: frames/s of our decode + resize + crop to rgb24 buffers (decodeFrames: one
 * fluent-ffmpeg process per clip, showinfo timestamps, frames handed to JS) against the bare ffmpeg
 * command line with the same filter chain writing the same raw frames to /dev/null, and the same
 * command piped into `cat` (what any reading process pays for the pipe); "reuse" is decodeFrames with
 * `reuseFrames` (a few frame buffers recycled). Every rep runs every clip
 * on every side; the order of the sides rotates from rep to rep, and each number is the median over
 * the reps. The load average is printed, since the machine may be shared.
 *
 *   npm run bench -w @lwm/video [-- --reps 5 --dir ../shared/data/videos]
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import { decodeFrames, ffmpegBinaries, planDecode } from "../src/index.js";

const { values } = parseArgs({
  options: { reps: { type: "string", default: "5" }, dir: { type: "string", default: resolve(__dirname, "../../../../shared/data/videos") } },
});
const reps = Number(values.reps);
const dir = values.dir!;
if (!existsSync(dir)) {
  console.log(`no clips: ${dir} not found (pass --dir)`);
  process.exit(0);
}
const run = promisify(execFile);
const bins = ffmpegBinaries();
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(`ffmpeg: ${bins.ffmpeg} (${bins.source.ffmpeg}); all frames, 256×256 rgb24; median of ${reps} reps, side order rotating; load average ${load()}`);

// Warm-up: fluent-ffmpeg checks ffmpeg's formats once per process (seconds on a loaded machine).
const clips = readdirSync(dir)
  .filter((f) => /\.(mp4|webm)$/.test(f))
  .sort();
for await (const _ of decodeFrames(join(dir, clips[0]!), { maxFrames: 1 }));

type Side = "ours" | "reuse" | "bare" | "pipe";
const SIDES: Side[] = ["ours", "reuse", "bare", "pipe"];
const times = new Map(
  clips.map((c) => [
    c,
    { ours: [] as number[], reuse: [] as number[], bare: [] as number[], pipe: [] as number[], frames: 0, oursCpuS: [] as number[], reuseCpuS: [] as number[] },
  ]),
);
const bareArgs = new Map<string, string[]>();
for (const name of clips) {
  const file = join(dir, name);
  const plan = await planDecode(file);
  bareArgs.set(name, ["-v", "error", ...plan.args.input, "-i", file, "-vf", plan.args.filters.join(","), ...plan.args.output]);
}

async function timeSide(side: Side, name: string): Promise<void> {
  const file = join(dir, name);
  const args = bareArgs.get(name)!;
  const t = times.get(name)!;
  const t0 = performance.now();
  if (side === "ours" || side === "reuse") {
    const c0 = process.cpuUsage();
    let frames = 0;
    for await (const f of decodeFrames(file, { reuseFrames: side === "reuse" })) if (f.rgb.length) frames++;
    const c = process.cpuUsage(c0);
    t.frames = frames;
    t[side === "ours" ? "oursCpuS" : "reuseCpuS"].push((c.user + c.system) / 1e6);
  } else if (side === "bare") await run(bins.ffmpeg, [...args, "-y", "/dev/null"]);
  else await run("sh", ["-c", `"$0" "$@" - | cat > /dev/null`, bins.ffmpeg, ...args]);
  t[side].push((performance.now() - t0) / 1000);
}

for (let r = 0; r < reps; r++) {
  const order = SIDES.map((_, k) => SIDES[(k + r) % SIDES.length]!);
  for (const name of clips) for (const side of order) await timeSide(side, name);
  console.log(`rep ${r + 1}/${reps} done (order ${order.join(", ")}); load average ${load()}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sum = { frames: 0, ours: 0, reuse: 0, bare: 0, pipe: 0, cpu: 0, reuseCpu: 0 };
console.log(
  "clip | frames | ours fps | reuse fps | bare > /dev/null fps | ours/bare | reuse/bare | bare | cat fps | ours/pipe | reuse/pipe | CPU ms/frame ours | reuse",
);
const line = (name: string, frames: number, o: number, u: number, b: number, p: number, c: number, cu: number) =>
  console.log(
    `${name} | ${frames} | ${(frames / o).toFixed(0)} | ${(frames / u).toFixed(0)} | ${(frames / b).toFixed(0)} | ${(b / o).toFixed(2)} | ${(b / u).toFixed(2)} | ${(frames / p).toFixed(0)} | ${(p / o).toFixed(2)} | ${(p / u).toFixed(2)} | ${((1000 * c) / frames).toFixed(2)} | ${((1000 * cu) / frames).toFixed(2)}`,
  );
for (const name of clips) {
  const t = times.get(name)!;
  const [o, u, b, p, c, cu] = [median(t.ours), median(t.reuse), median(t.bare), median(t.pipe), median(t.oursCpuS), median(t.reuseCpuS)];
  sum.frames += t.frames;
  sum.ours += o;
  sum.reuse += u;
  sum.bare += b;
  sum.pipe += p;
  sum.cpu += c;
  sum.reuseCpu += cu;
  line(name, t.frames, o, u, b, p, c, cu);
}
line("all", sum.frames, sum.ours, sum.reuse, sum.bare, sum.pipe, sum.cpu, sum.reuseCpu);
console.log(`load average at the end: ${load()}`);
