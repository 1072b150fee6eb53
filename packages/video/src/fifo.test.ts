import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fifoPool, FifoReader, removeDeadFolders } from "./fifo.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lwm-fifo-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real writer process: `cat src > fifo`, resolving when it exits. */
function catInto(src: string, fifo: string): Promise<number | null> {
  const p = spawn("sh", ["-c", 'cat "$0" > "$1"', src, fifo], { stdio: "ignore" });
  return new Promise((resolve) => p.on("exit", resolve));
}

describe("FifoReader", () => {
  it.skipIf(fifoPool.unsupported !== null)(
    "reads a writer's bytes straight into whole frames, in order, holding at most maxQueued while the consumer lags",
    async () => {
      const frameBytes = 12_345,
        frames = 60,
        maxQueued = 2;
      const bytes = Buffer.from(Array.from({ length: frameBytes * frames + 7 }, (_, k) => (k * 31) % 251));
      const src = join(dir, "frames.bin");
      writeFileSync(src, bytes);
      const fifo = (await fifoPool.acquire())!;
      const reader = new FifoReader(fifo, frameBytes, maxQueued, true);
      const writer = catInto(src, fifo).then((code) => {
        reader.writerExited();
        return code;
      });
      const buffers = new Set<ArrayBufferLike>();
      let k = 0;
      for (;;) {
        // A slow consumer: the writer fills the pipe and waits, the reader stops at maxQueued frames.
        await new Promise((r) => setTimeout(r, 2));
        const f = reader.frames.take();
        if (!f) {
          if (reader.frames.ended) break;
          await reader.frames.wait();
          continue;
        }
        expect(Buffer.from(f).equals(bytes.subarray(k * frameBytes, (k + 1) * frameBytes)), `frame ${k}`).toBe(true);
        buffers.add(f.buffer);
        k++;
      }
      expect(await writer).toBe(0);
      expect(k).toBe(frames);
      expect(reader.frames.partialBytes).toBe(7);
      expect(buffers.size).toBeLessThanOrEqual(maxQueued + 2);
      expect(reader.error).toBeNull();
      expect(reader.close()).toBe(true);
      fifoPool.release(fifo, true);
    },
    60_000,
  );

  it.skipIf(fifoPool.unsupported !== null)("a writer that never comes still ends the reader once told it exited; an abandoned FIFO is deleted", async () => {
    const fifo = (await fifoPool.acquire())!;
    const reader = new FifoReader(fifo, 100);
    reader.writerExited();
    while (!reader.frames.ended) await reader.frames.wait();
    expect(reader.frames.take()).toBeNull();
    expect(reader.frames.partialBytes).toBe(0);
    reader.close();
    fifoPool.release(fifo, false);
    expect(existsSync(fifo)).toBe(false);
  });

  it("folders of processes that are gone (killed before their 'exit') are removed; a live process's are kept", async () => {
    const gone = spawn("true");
    const deadPid = await new Promise<number>((resolve) => gone.on("exit", () => resolve(gone.pid!)));
    const dead = join(tmpdir(), `lwm-fifos-${deadPid}-test`);
    const alive = join(tmpdir(), `lwm-fifos-${process.ppid}-test`);
    for (const d of [dead, alive]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "frames-0"), "");
    }
    removeDeadFolders();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
    await rm(alive, { recursive: true, force: true });
  });
});
