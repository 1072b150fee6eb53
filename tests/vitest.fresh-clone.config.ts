import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["fresh-clone.test.ts"], testTimeout: 1_800_000 },
});
