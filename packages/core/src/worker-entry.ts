import { parentPort } from "node:worker_threads";
import { callExport } from "./worker-pool.js";

/** The body of every WorkerPool thread: one task at a time, each answered with one message. */
interface Request {
  moduleUrl: string;
  exportName: string;
  payload: unknown;
}

const port = parentPort;
if (!port) throw new Error("worker-entry.js runs only as a worker thread");

port.on("message", (request: Request) => {
  callExport(request.moduleUrl, request.exportName, request.payload).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ ok: false, error: { message: e.message, stack: e.stack } });
    },
  );
});
