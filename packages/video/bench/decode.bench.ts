/**
 * Decode benchmark: frames/s of our decode + resize + crop to rgb24 buffers (decodeFrames: one
 * fluent-ffmpeg process per clip, showinfo timestamps, frames handed to JS) against the bare ffmpeg
 * command line with the same arguments and filter chain writing the same raw frames to /dev/null,
 * and the same command piped into `cat` (what any reading process pays for the pipe). Our side runs
 * in four variants: the two transports (`fifo`, the default: a named pipe read straight into the
 * frame buffers; `stdout`: ffmpeg's stdout through a Node stream, a copy per read), each with fresh
 * frames and with `reuseFrames` (a few frame buffers recycled). Every rep runs every clip on every
 * side; the order of the sides rotates from rep to rep, and each number is the median over the reps.
 * Besides wall time it reports CPU time per frame, which a loaded machine disturbs less: our
 * process's (process.cpuUsage) and its children's (ffmpeg, and `cat` on the pipe side: cutime +
 * cstime of /proc/self/stat, Linux only); an untimed full GC before each side keeps one side's
 * garbage out of the next one's numbers. The load average is printed, since the machine may be shared.
 *
 *   npm run bench -w @lwm/video [-- --reps 5 --dir ../shared/data/videos --json]
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { decodeFrames, ffmpegBinaries, planDecode, type FrameTransport } from "../src/index.js";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    dir: { type: "string", default: resolve(__dirname, "../../../../shared/data/videos") },
    json: { type: "boolean", default: false },
  },
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

// A full collection (untimed) before every side, so no side pays for freeing the frames of the one
// before it.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** CPU seconds of this process's reaped children (ffmpeg, sh, cat), or NaN off Linux. */
function childrenCpuS(): number {
  if (!existsSync("/proc/self/stat")) return NaN;
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in USER_HZ (100 on Linux)
}

const clips = readdirSync(dir)
  .filter((f) => /\.(mp4|webm)$/.test(f))
  .sort();
// Warm-up: fluent-ffmpeg checks ffmpeg's formats once per process (seconds on a loaded machine).
for await (const _ of decodeFrames(join(dir, clips[0]!), { maxFrames: 1 }));

type Ours = { transport: FrameTransport; reuseFrames: boolean };
const SIDES: Record<string, Ours | "bare" | "pipe"> = {
  "fifo reuse": { transport: "fifo", reuseFrames: true },
  fifo: { transport: "fifo", reuseFrames: false },
  "stdout reuse": { transport: "stdout", reuseFrames: true },
  stdout: { transport: "stdout", reuseFrames: false },
  "bare → /dev/null": "bare",
  "bare → cat": "pipe",
};
const sideNames = Object.keys(SIDES);
interface Sample {
  wallS: number;
  oursCpuS: number;
  childCpuS: number;
}
const samples = new Map(clips.map((c) => [c, new Map(sideNames.map((s) => [s, [] as Sample[]]))]));
const frameCounts = new Map<string, number>();
const bareArgs = new Map<string, string[]>();
for (const name of clips) {
  const file = join(dir, name);
  const plan = await planDecode(file);
  bareArgs.set(name, ["-v", "error", ...plan.args.input, "-i", file, "-vf", plan.args.filters.join(","), ...plan.args.output]);
}

async function timeSide(side: string, name: string): Promise<void> {
  const file = join(dir, name);
  const args = bareArgs.get(name)!;
  const how = SIDES[side]!;
  gc();
  const [t0, c0, k0] = [performance.now(), process.cpuUsage(), childrenCpuS()];
  if (how === "bare") await run(bins.ffmpeg, [...args, "-y", "/dev/null"]);
  else if (how === "pipe") await run("sh", ["-c", `"$0" "$@" - | cat > /dev/null`, bins.ffmpeg, ...args]);
  else {
    let frames = 0;
    for await (const f of decodeFrames(file, how)) if (f.rgb.length) frames++;
    frameCounts.set(name, frames);
  }
  const c = process.cpuUsage(c0);
  samples
    .get(name)!
    .get(side)!
    .push({ wallS: (performance.now() - t0) / 1000, oursCpuS: (c.user + c.system) / 1e6, childCpuS: childrenCpuS() - k0 });
}

for (let r = 0; r < reps; r++) {
  const order = sideNames.map((_, k) => sideNames[(k + r) % sideNames.length]!);
  for (const name of clips) for (const side of order) await timeSide(side, name);
  console.log(`rep ${r + 1}/${reps} done (order ${order.join(", ")}); load average ${load()}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** Per clip and side: median wall and CPU; "all" sums the medians over the clips. */
const rows = [...clips, "all"].map((name) => {
  const list = name === "all" ? clips : [name];
  const frames = list.reduce((n, c) => n + frameCounts.get(c)!, 0);
  const sides = Object.fromEntries(
    sideNames.map((side) => {
      const sum = (pick: (s: Sample) => number) => list.reduce((t, c) => t + median(samples.get(c)!.get(side)!.map(pick)), 0);
      const wallS = sum((s) => s.wallS);
      return [
        side,
        { fps: frames / wallS, wallS, oursMsPerFrame: (1000 * sum((s) => s.oursCpuS)) / frames, childMsPerFrame: (1000 * sum((s) => s.childCpuS)) / frames },
      ];
    }),
  );
  return { clip: name, frames, sides };
});

if (values.json) console.log(JSON.stringify({ reps, load: loadavg(), rows }));
const ours = sideNames.filter((s) => typeof SIDES[s] === "object");
const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);
console.log(`\nframes/s (median wall); ratio = peer's wall / ours`);
console.log(["clip", "frames", ...sideNames, ...ours.flatMap((s) => [`${s} / bare`, `${s} / cat`])].join(" | "));
for (const { clip, frames, sides } of rows) {
  const bare = sides["bare → /dev/null"]!.wallS,
    cat = sides["bare → cat"]!.wallS;
  console.log(
    [clip, frames, ...sideNames.map((s) => f0(sides[s]!.fps)), ...ours.flatMap((s) => [f2(bare / sides[s]!.wallS), f2(cat / sides[s]!.wallS)])].join(" | "),
  );
}
console.log(`\nCPU ms per frame (median): our process + its children (ffmpeg; ffmpeg + cat for the pipe side)`);
console.log(["clip", ...sideNames].join(" | "));
for (const { clip, sides } of rows) {
  console.log([clip, ...sideNames.map((s) => `${f2(sides[s]!.oursMsPerFrame)} + ${f2(sides[s]!.childMsPerFrame)}`)].join(" | "));
}
console.log(`load average at the end: ${load()}`);
