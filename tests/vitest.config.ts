import { defineConfig } from "vitest/config";

// These tests run the built `lwm` in child processes and train small models; on a loaded 2-core CI
// machine that takes far longer than vitest's 5 s default. The fresh-clone test has its own config
// and CI step (vitest.fresh-clone.config.ts, `npm run test:fresh-clone`). The global setup gives the
// files that only read a run of the sample recipe one shared run (sample-run.ts).
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 900_000, exclude: ["**/node_modules/**", "fresh-clone.test.ts"], globalSetup: ["./global-setup.ts"] },
});
