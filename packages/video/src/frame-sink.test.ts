import { describe, expect, it } from "vitest";
import { FrameSink } from "./frame-sink.js";

const write = (sink: FrameSink, chunk: Buffer) => new Promise<void>((resolve, reject) => sink.write(chunk, (err) => (err ? reject(err) : resolve())));

describe("FrameSink", () => {
  it("cuts a byte stream in chunks of any size into whole frames, in order, each byte once", async () => {
    const frameBytes = 12,
      frames = 21;
    const stream = Buffer.from(Array.from({ length: frameBytes * frames + 5 }, (_, k) => k % 251));
    const sink = new FrameSink(frameBytes, 1000);
    for (let at = 0, size = 1; at < stream.length; at += size, size = (size * 7) % 31 || 1) await write(sink, stream.subarray(at, at + size));
    await new Promise<void>((r) => sink.end(r));
    const got: Uint8Array[] = [];
    for (let f = sink.frames.take(); f; f = sink.frames.take()) got.push(f);
    expect(sink.frames.ended).toBe(true);
    expect(got).toHaveLength(frames);
    got.forEach((f, k) => expect(Buffer.from(f).equals(stream.subarray(k * frameBytes, (k + 1) * frameBytes))).toBe(true));
    expect(sink.frames.partialBytes).toBe(5);
    // Frames share slabs but never overlap.
    got[0]!.fill(0);
    expect(Buffer.from(got[1]!).equals(stream.subarray(frameBytes, 2 * frameBytes))).toBe(true);
  });

  it("holds the writer while maxQueued frames wait, and lets it go when the reader takes one", async () => {
    const sink = new FrameSink(4, 2);
    let acknowledged = false;
    const pending = write(sink, Buffer.alloc(8, 1)).then(() => (acknowledged = true));
    await new Promise((r) => setImmediate(r));
    expect(acknowledged).toBe(false);
    expect(sink.frames.take()).not.toBeNull();
    await pending;
    expect(acknowledged).toBe(true);
  });

  it("reuse: frames come from a small pool, each valid until the next take", async () => {
    const frameBytes = 6,
      frames = 40;
    const stream = Buffer.from(Array.from({ length: frameBytes * frames }, (_, k) => (k * 7) % 253));
    const sink = new FrameSink(frameBytes, 3, true);
    const seen = new Set<ArrayBuffer>();
    let k = 0;
    const check = () => {
      for (let f = sink.frames.take(); f; f = sink.frames.take(), k++) {
        expect(Buffer.from(f).equals(stream.subarray(k * frameBytes, (k + 1) * frameBytes)), `frame ${k}`).toBe(true);
        seen.add(f.buffer as ArrayBuffer);
      }
    };
    for (let at = 0; at < stream.length; at += 5) {
      const written = write(sink, stream.subarray(at, at + 5));
      check();
      await written;
    }
    await new Promise<void>((r) => sink.end(r));
    check();
    expect(k).toBe(frames);
    expect(seen.size).toBeLessThanOrEqual(3 + 2);
  });
});
