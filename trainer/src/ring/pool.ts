/** The main thread's side of the ring: P worker threads wired into a ring of MessageChannels. */
import { MessageChannel, Worker } from "node:worker_threads";
import type { LlamaConfig } from "../model/api.js";
import type { Reply, Request, WorkerInit } from "./protocol.js";
import { FlatParams, type SharedBuffers, createSharedBuffers } from "./shared.js";

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void };
export type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export class RingPool {
  private nextId = 1;
  private pending: Map<number, Pending>[] = [];
  private closed = false;

  private constructor(
    readonly workers: Worker[],
    readonly flat: FlatParams,
    readonly shared: SharedBuffers,
  ) {
    workers.forEach((w, rank) => {
      const pend = new Map<number, Pending>();
      this.pending.push(pend);
      const failAll = (e: Error) => {
        for (const p of pend.values()) p.reject(e);
        pend.clear();
      };
      w.on("message", (r: Reply) => {
        const p = pend.get(r.id);
        if (!p) return;
        pend.delete(r.id);
        if (r.type === "error") p.reject(new Error(`ring worker ${rank}: ${r.message}`));
        else p.resolve(r);
      });
      w.on("error", (e) => failAll(new Error(`ring worker ${rank} crashed: ${e.message}`)));
      w.on("exit", (code) => {
        if (!this.closed) failAll(new Error(`ring worker ${rank} exited with code ${code}`));
      });
    });
  }

  static start(cfg: LlamaConfig, size: number, headChunk: number, workerFile: string, intraOpThreads = 1): RingPool {
    const channels = Array.from({ length: size }, () => new MessageChannel());
    const flat = new FlatParams(cfg),
      shared = createSharedBuffers(flat, size);
    const workers: Worker[] = [];
    for (let rank = 0; rank < size; rank++) {
      // channel r carries rank r → rank r+1
      const init: WorkerInit = { cfg, rank, size, headChunk, intraOpThreads, shared };
      const transferList = [];
      if (size > 1) {
        init.next = channels[rank]!.port1;
        init.prev = channels[(rank - 1 + size) % size]!.port2;
        transferList.push(init.next, init.prev);
      }
      workers.push(new Worker(workerFile, { workerData: init, transferList }));
    }
    return new RingPool(workers, flat, shared);
  }

  get size(): number {
    return this.workers.length;
  }

  request<T extends Reply["type"]>(rank: number, body: RequestBody, transfer: ArrayBuffer[] = []): Promise<Extract<Reply, { type: T }>> {
    if (this.closed) return Promise.reject(new Error("engine is closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending[rank]!.set(id, { resolve: resolve as (r: Reply) => void, reject });
      this.workers[rank]!.postMessage({ ...body, id }, transfer);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let every worker finish what it is doing and release onnxruntime before it is terminated
    // (bounded: a worker stuck on a ring hop that will never come is terminated anyway).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.workers.map((_, r) => this.request<"ok">(r, { type: "close" }))),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10_000);
      }),
    ]);
    clearTimeout(timer);
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
