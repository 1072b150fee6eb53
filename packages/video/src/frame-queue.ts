/**
 * Frames cut from a byte stream, whatever feeds it (a Writable that copies chunks, or a socket that
 * reads straight into the frame being filled). The producer asks for `fillTarget()` (the unfilled
 * rest of the current frame), puts bytes there and reports them with `filledBy`; whole frames queue
 * up for the consumer's `take`. `full` tells the producer to stop reading (so ffmpeg blocks on its
 * pipe and memory stays bounded by the frames in flight); `onSpace` says when to read again.
 *
 * Frames are carved from slabs of several frames, so the process does not allocate, page-fault and
 * free one large buffer per frame. With `reuse`, frames come from a pool of at most maxQueued + 2
 * buffers instead: the frame `take` returned goes back to the pool at the next `take`, so it is
 * valid only until then (for callers that copy each frame out at once; no fresh memory per frame).
 */

/** Frames per slab: a slab is freed once every frame cut from it is dropped. */
const SLAB_FRAMES = 8;

export class FrameQueue {
  private readonly queue: Uint8Array[] = [];
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  private frame: Uint8Array | null = null;
  private filled = 0;
  private waiter: (() => void) | null = null;
  private finished = false;
  private readonly pool: Uint8Array[] = [];
  private lent: Uint8Array | null = null;
  /** Called by `take` when the queue drops below `maxQueued` again (the producer may resume). */
  onSpace: (() => void) | null = null;

  constructor(
    readonly frameBytes: number,
    private readonly maxQueued = 4,
    private readonly reuse = false,
  ) {}

  /** Bytes of an unfinished frame (a stream that stops inside a frame is truncated). */
  get partialBytes(): number {
    return this.filled;
  }

  /** True once the producer has ended and every byte has been cut into frames. */
  get ended(): boolean {
    return this.finished;
  }

  /** True while `maxQueued` frames wait for the consumer. */
  get full(): boolean {
    return this.queue.length >= this.maxQueued;
  }

  /** Where the next bytes go: the unfilled rest of the current frame. */
  fillTarget(): Uint8Array {
    const frame = (this.frame ??= this.nextFrame());
    return frame.subarray(this.filled);
  }

  /** `n` bytes were written at the start of the last `fillTarget()`. */
  filledBy(n: number): void {
    this.filled += n;
    if (this.filled < this.frameBytes) return;
    this.queue.push(this.frame!);
    this.frame = null;
    this.filled = 0;
    this.wake();
  }

  /** Copies `chunk` into frames (for producers that get their bytes in buffers of their own). */
  write(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length;) {
      const target = this.fillTarget();
      const n = Math.min(target.length, chunk.length - at);
      target.set(chunk.subarray(at, at + n));
      this.filledBy(n);
      at += n;
    }
  }

  /** The producer is done. */
  end(): void {
    this.finished = true;
    this.wake();
  }

  /** The next whole frame, or null when none is queued. */
  take(): Uint8Array | null {
    if (this.lent) this.pool.push(this.lent);
    const f = this.queue.shift() ?? null;
    if (this.reuse) this.lent = f;
    if (f && this.queue.length === this.maxQueued - 1) this.onSpace?.();
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
