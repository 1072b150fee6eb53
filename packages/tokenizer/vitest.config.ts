import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./src/test-helpers/ensure-llama2-asset.ts"],
    testTimeout: 60_000,
  },
});
