import { Worker } from "node:worker_threads";

interface Task {
  moduleUrl: string;
  exportName: string;
  payload: unknown;
  resolve: (value: unknown) => void;
  reject: (reason: Error) => void;
}

interface Reply {
  ok: boolean;
  result?: unknown;
  error?: { message: string; stack?: string };
}

const ENTRY = new URL("./worker-entry.js", import.meta.url);

/**
 * Runs CPU-bound functions on worker threads. A task names an ES module and one of its exports, an
 * async function of one structured-cloneable argument; it runs on a free worker (modules stay
 * loaded, so a worker can keep caches such as a loaded tokenizer between tasks). `size` 0 runs tasks
 * on the calling thread instead (same code path, for tests and single-threaded runs).
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Task[] = [];
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`WorkerPool: size must be an integer >= 0, got ${size}`);
  }

  async run(moduleUrl: string, exportName: string, payload: unknown): Promise<unknown> {
    if (this.closed) throw new Error("WorkerPool: closed");
    if (this.size === 0) return callExport(moduleUrl, exportName, payload);
    return new Promise((resolve, reject) => {
      this.queue.push({ moduleUrl, exportName, payload, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every worker; pending tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error("WorkerPool: closed before the task ran"));
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
    this.idle.length = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.all.length < this.size) {
        worker = new Worker(ENTRY);
        this.all.push(worker);
      }
      if (!worker) return;
      const task = this.queue.shift() as Task;
      this.start(worker, task);
    }
  }

  private start(worker: Worker, task: Task): void {
    const onMessage = (reply: Reply): void => {
      cleanup();
      this.idle.push(worker);
      if (reply.ok) task.resolve(reply.result);
      else {
        const err = new Error(`${reply.error?.message ?? "worker task failed"} (in worker: ${task.exportName})`);
        if (reply.error?.stack) err.stack = reply.error.stack;
        task.reject(err);
      }
      this.dispatch();
    };
    const onError = (err: Error): void => {
      cleanup();
      this.forget(worker);
      task.reject(err);
      this.dispatch();
    };
    const onExit = (code: number): void => {
      cleanup();
      this.forget(worker);
      task.reject(new Error(`worker exited with code ${code} while running ${task.exportName}`));
      this.dispatch();
    };
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage({ moduleUrl: task.moduleUrl, exportName: task.exportName, payload: task.payload });
  }

  private forget(worker: Worker): void {
    const i = this.all.indexOf(worker);
    if (i >= 0) this.all.splice(i, 1);
  }
}

/** Imports `moduleUrl` and calls its export `exportName` with `payload`. */
export async function callExport(moduleUrl: string, exportName: string, payload: unknown): Promise<unknown> {
  const mod = (await import(moduleUrl)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== "function") throw new TypeError(`${moduleUrl} has no exported function "${exportName}"`);
  return (fn as (arg: unknown) => unknown)(payload);
}
