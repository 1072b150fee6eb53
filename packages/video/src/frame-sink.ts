/**
 * ffmpeg's stdout pipe into a FrameQueue: a Writable whose chunks (Node's own read buffers) are each
 * copied once, straight into the frame they belong to. When the queue is full the sink stops
 * acknowledging writes, so ffmpeg blocks on the pipe. The fallback transport where no FIFO can be
 * made (see fifo.ts): it costs a copy and a fresh read buffer per chunk.
 */
import { Writable } from "node:stream";
import { FrameQueue } from "./frame-queue.js";

export class FrameSink extends Writable {
  readonly frames: FrameQueue;
  private held: (() => void) | null = null;

  constructor(frameBytes: number, maxQueued = 4, reuse = false) {
    // Kept open until ffmpeg exits: fluent-ffmpeg kills ffmpeg shortly after its output stream closes.
    super({ highWaterMark: frameBytes, emitClose: false, autoDestroy: false });
    this.frames = new FrameQueue(frameBytes, maxQueued, reuse);
    this.frames.onSpace = () => {
      const go = this.held;
      this.held = null;
      go?.();
    };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.frames.write(chunk);
    if (this.frames.full) this.held = () => done();
    else done();
  }

  override _final(done: (err?: Error | null) => void): void {
    done();
    this.frames.end();
  }
}
