import { defineConfig } from "vitest/config";

// Round-trip and packing tests write and read thousands of rows; on a loaded 2-core CI machine
// (stress-ng beside the suite) one took more than vitest's 5 s default.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 300_000 },
});
