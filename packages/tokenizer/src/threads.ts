import { availableParallelism } from "node:os";
import { isMainThread } from "node:worker_threads";

/**
 * HF tokenizers runs `encodeBatch` on rayon's global pool. Rayon reads this variable once, when the
 * pool first starts (the first batch in the process), and sizes the pool by it; unset, it starts
 * one thread per core. `TOKENIZERS_PARALLELISM=false` instead makes batches run on the calling
 * libuv thread with no pool at all.
 */
export const RAYON_THREADS_ENV = "RAYON_NUM_THREADS";

let poolStarted = false;

/** Called by Tokenizer before each batch: from then on the pool's size is fixed for the process. */
export function noteNativePoolStarted(): void {
  poolStarted = true;
}

/**
 * Bounds the threads that `encodeBatch` uses in this process. Call it before the first batch, from
 * the main thread (a worker's process.env is a private copy the native library never reads), or
 * set RAYON_NUM_THREADS in the environment at launch.
 */
export function limitTokenizerThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`limitTokenizerThreads: threads must be a positive integer, got ${threads}`);
  }
  if (!isMainThread) {
    throw new Error(
      `limitTokenizerThreads: call it from the main thread (or set ${RAYON_THREADS_ENV} when starting the process); ` +
        "a worker's process.env does not reach the native library",
    );
  }
  const current = process.env[RAYON_THREADS_ENV];
  if (poolStarted && current !== String(threads)) {
    throw new Error(
      `limitTokenizerThreads(${threads}): the tokenizer thread pool already started with ` +
        `${current ?? availableParallelism()} threads; it is sized once per process, before the first encodeBatch`,
    );
  }
  process.env[RAYON_THREADS_ENV] = String(threads);
}

/** The number of threads `encodeBatch` uses (or will use) in this process. */
export function tokenizerThreadBudget(): number {
  const configured = Number(process.env[RAYON_THREADS_ENV]);
  return Number.isInteger(configured) && configured > 0 ? configured : availableParallelism();
}
