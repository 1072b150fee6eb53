/**
 * The end of ffmpeg's stdout pipe: a Writable that cuts the byte stream into fixed-size frames.
 * Each chunk is copied once, straight into the frame it belongs to (no stream buffering in
 * between, no concatenation), and frames are carved from slabs of several frames so the process
 * does not allocate, page-fault and free one large buffer per frame. When `maxQueued` frames wait
 * for the reader, the sink stops acknowledging writes, so ffmpeg blocks on the pipe: memory stays
 * bounded by the frames in flight.
 *
 * With `reuse`, frames come from a pool of at most maxQueued + 2 buffers instead of fresh slabs:
 * the frame `take` returned goes back to the pool at the next `take`, so it is valid only until
 * then. That saves the page faults of fresh memory on every frame, for callers that copy each
 * frame out at once.
 */
import { Writable } from "node:stream";

/** Frames per slab: a slab is freed once every frame cut from it is dropped. */
const SLAB_FRAMES = 8;

export class FrameSink extends Writable {
  private readonly queue: Uint8Array[] = [];
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  private frame: Uint8Array | null = null;
  private filled = 0;
  private held: (() => void) | null = null;
  private waiter: (() => void) | null = null;
  private finished = false;
  private readonly pool: Uint8Array[] = [];
  private lent: Uint8Array | null = null;

  constructor(
    private readonly frameBytes: number,
    private readonly maxQueued = 4,
    private readonly reuse = false,
  ) {
    // Kept open until ffmpeg exits: fluent-ffmpeg kills ffmpeg shortly after its output stream closes.
    super({ highWaterMark: frameBytes, emitClose: false, autoDestroy: false });
  }

  /** Bytes of an unfinished frame (a stream that stops inside a frame is truncated). */
  get partialBytes(): number {
    return this.filled;
  }

  /** True once the stream has ended and every byte has been cut into frames. */
  get ended(): boolean {
    return this.finished;
  }

  /** The next whole frame, or null when none is queued. */
  take(): Uint8Array | null {
    if (this.lent) this.pool.push(this.lent);
    const f = this.queue.shift() ?? null;
    if (this.reuse) this.lent = f;
    if (this.held && this.queue.length < this.maxQueued) {
      const go = this.held;
      this.held = null;
      go();
    }
    return f;
  }

  /** Resolves at the next queued frame, end of stream or `wake` call (whichever comes first). */
  wait(): Promise<void> {
    return new Promise<void>((r) => (this.waiter = r));
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    for (let at = 0; at < chunk.length;) {
      const frame = (this.frame ??= this.nextFrame());
      const n = Math.min(this.frameBytes - this.filled, chunk.length - at);
      frame.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.frameBytes) {
        this.queue.push(frame);
        this.frame = null;
        this.filled = 0;
      }
    }
    if (this.queue.length) this.wake();
    if (this.queue.length >= this.maxQueued) this.held = () => done();
    else done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finished = true;
    done();
    this.wake();
  }

  private nextFrame(): Uint8Array {
    if (this.reuse) return this.pool.pop() ?? new Uint8Array(this.frameBytes);
    if (this.slabUsed === this.slab.length) {
      // Every byte is overwritten by the stream, so the slab need not be zeroed.
      const b = Buffer.allocUnsafeSlow(this.frameBytes * SLAB_FRAMES);
      this.slab = new Uint8Array(b.buffer, b.byteOffset, b.length);
      this.slabUsed = 0;
    }
    const f = this.slab.subarray(this.slabUsed, this.slabUsed + this.frameBytes);
    this.slabUsed += this.frameBytes;
    return f;
  }
}
