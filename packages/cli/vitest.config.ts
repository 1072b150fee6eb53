import { defineConfig } from "vitest/config";

// Every test here runs the built `lwm` in a child process; on a loaded 2-core CI machine one spawn
// can take seconds, so the 5 s default is too tight.
export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 300_000 },
});
