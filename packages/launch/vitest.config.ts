import { defineConfig } from "vitest/config";

// Tests spawn shells and processes on a loaded machine: generous timeouts.
export default defineConfig({ test: { testTimeout: 60_000 } });
