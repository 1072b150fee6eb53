import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["fresh-clone.test.ts"], testTimeout: 3_600_000, hookTimeout: 600_000 },
});
