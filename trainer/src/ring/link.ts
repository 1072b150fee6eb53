/**
 * A worker's two ring neighbours: it sends to rank+1 and receives from rank−1 (mod P). Messages carry
 * ordinary ArrayBuffers that are *transferred* (onnxruntime rejects SharedArrayBuffer-backed tensors).
 */
import type { MessagePort } from "node:worker_threads";

export interface RingMsg {
  /** Sanity tag: what the block is (layer, pass, hop), checked on receipt. */
  tag: string;
  /** Rank whose sequence block this is. */
  owner: number;
  arrays: Record<string, Float32Array>;
}

export class RingLink {
  /** Milliseconds spent waiting for the previous worker's message. */
  waitMs = 0;
  private queue: RingMsg[] = [];
  private waiters: ((m: RingMsg) => void)[] = [];

  constructor(
    readonly rank: number,
    readonly size: number,
    private readonly next: MessagePort,
    prev: MessagePort,
  ) {
    prev.on("message", (m: RingMsg) => {
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
  }

  /** Sends `msg`, transferring the buffers of its arrays (each must own its whole buffer). */
  send(msg: RingMsg): void {
    const transfer: ArrayBuffer[] = [];
    for (const a of Object.values(msg.arrays)) {
      if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) throw new Error(`ring send ${msg.tag}: arrays must own their buffer`);
      transfer.push(a.buffer as ArrayBuffer);
    }
    this.next.postMessage(msg, transfer);
  }

  async recv(expectTag: string): Promise<RingMsg> {
    let m = this.queue.shift();
    if (!m) {
      const t0 = performance.now();
      m = await new Promise<RingMsg>((resolve) => this.waiters.push(resolve));
      this.waitMs += performance.now() - t0;
    }
    if (m.tag !== expectTag) throw new Error(`ring worker ${this.rank}: expected block ${expectTag}, got ${m.tag}`);
    return m;
  }

  close(): void {
    this.next.close();
  }
}
