import { defineConfig } from "vitest/config";

// Two test files, each mostly waiting on a Python reference, ffmpeg or onnxruntime: run them side
// by side even on 2 cores (vitest's default is cores − 1 workers, i.e. one file at a time here).
export default defineConfig({ test: { maxWorkers: 2, minWorkers: 1 } });
