import { defineConfig } from "vitest/config";

// Tests here start worker threads, child processes or onnxruntime sessions; on a loaded 2-core CI
// machine one of them can take far longer than vitest's 5 s default.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 300_000 },
});
