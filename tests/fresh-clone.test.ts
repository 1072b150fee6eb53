/**
 * A newcomer's path, as README.md writes it, on a fresh clone of the committed HEAD: `npm ci && npm
 * start` (no `npm warn` line), `npx lwm --help`, `npx lwm inspect out`, `npm run dataset` twice (the
 * second a turbo cache hit), then the README's `npx lwm train …` and `npx lwm eval needle …` lines,
 * read from README.md so that this test breaks when the README changes. Any non-zero exit fails.
 *
 * Not part of `npm test` (vitest.config.ts excludes it): it needs the npm registry (or a warm npm
 * cache), takes minutes and tests the last commit, not the working tree. CI runs it as its own step:
 * `npm run test:fresh-clone` (.ci/run).
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const head = spawnSync("git", ["-C", repoRoot, "rev-parse", "HEAD"], { encoding: "utf8" }).stdout.trim();
const clone = mkdtempSync(join(tmpdir(), "lwm-fresh-clone-"));
const log = join(clone, "..", `${clone.split("/").pop()}.log`);

/** The README's `npx lwm <command> …` lines of its ```sh blocks, exactly as written. */
function readmeLines(prefix: string): string[] {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split("\n")).filter((l) => l.startsWith(prefix));
}

/** Runs a shell line in the clone; resolves with its exit code and output (also appended to the log). */
function shell(line: string): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const started = Date.now();
    const child = spawn("bash", ["-c", line], { cwd: clone, env: { ...process.env, FORCE_COLOR: "0" } });
    let output = "";
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      appendFileSync(log, chunk);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", fail);
    child.on("close", (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`fresh clone: \`${line}\` exited ${code} after ${seconds} s`);
      done({ code: code ?? -1, output });
    });
  });
}

async function expectOk(line: string): Promise<string> {
  appendFileSync(log, `\n$ ${line}\n`);
  const { code, output } = await shell(line);
  expect(code, `\`${line}\` exited ${code}; output in ${log}:\n${output.slice(-4000)}`).toBe(0);
  return output;
}

afterAll(() => {
  rmSync(clone, { recursive: true, force: true });
}, 600_000);

describe(`a fresh clone of HEAD ${head.slice(0, 12)}`, () => {
  it("installs and builds without npm warnings, then runs the README's commands as written", async () => {
    console.log(`fresh clone: ${clone} (log: ${log})`);
    await expectOk(`git clone --quiet --no-checkout ${JSON.stringify(repoRoot)} . && git checkout --quiet ${head}`);

    const install = await expectOk("npm ci && npm start");
    expect(install.split("\n").filter((l) => l.startsWith("npm warn"))).toEqual([]);

    expect(await expectOk("npx lwm --help")).toContain("usage: lwm <command>");
    expect(await expectOk("npx lwm inspect out")).toMatch(/== stage 2k \(out\/2k\)/);
    await expectOk("npm run dataset");
    expect(await expectOk("npm run dataset")).toMatch(/Cached: +(\d+) cached, \1 total/);

    const train = readmeLines("npx lwm train ");
    const needle = readmeLines("npx lwm eval needle ");
    expect(train.length, "README.md has an `npx lwm train …` line").toBeGreaterThan(0);
    expect(needle.length, "README.md has an `npx lwm eval needle …` line").toBeGreaterThan(0);
    for (const line of [...train, ...needle]) await expectOk(line);
  }, 3_600_000); // ≈ 3 min on an idle 2-core machine; 30+ min when five jobs share it
});
