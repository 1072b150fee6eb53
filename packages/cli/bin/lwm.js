#!/usr/bin/env node
// The `lwm` bin is this checked-in file, not dist/main.js: npm links bins during `npm ci`, before
// anything is built, and skips a bin whose target does not exist yet. This launcher exists from the
// clone on, so `npx lwm` works as soon as `npm run build` (or `npm start`) has written dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/main.js", import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  process.stderr.write(`lwm: ${fileURLToPath(main)} is not built yet; run \`npm run build\` (or \`npm start\`) first\n`);
  process.exitCode = 2;
}
