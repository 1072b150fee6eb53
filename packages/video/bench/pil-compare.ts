/**
 * How our ffmpeg preprocessing (preprocess.ts) compares with LWM's PIL resize + crop, on the shared
 * images (RGB sources, so only the resampling differs). Needs python3 with Pillow and NumPy
 * ($LWM_PYTHON, default /usr/bin/python3; Debian: apt-get install python3-pil python3-numpy).
 *
 *   npx vite-node bench/pil-compare.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeAll } from "../src/index.js";

const dir = resolve(__dirname, "../../../../shared/data/images");
if (!existsSync(dir)) {
  console.log(`skipped: ${dir} not found`);
  process.exit(0);
}
const files = readdirSync(dir)
  .filter((f) => /\.(png|jpg)$/.test(f))
  .sort()
  .map((f) => join(dir, f));
const frames: Uint8Array[] = [];
for (const f of files) frames.push((await decodeAll(f))[0]!.rgb);
const python = process.env.LWM_PYTHON ?? "/usr/bin/python3";
process.stdout.write(execFileSync(python, [resolve(__dirname, "pil_compare.py"), "256", ...files], { input: Buffer.concat(frames), encoding: "utf8" }));
