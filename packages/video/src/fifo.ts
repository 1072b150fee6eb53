/**
 * ffmpeg's raw frames through a named pipe (FIFO), read straight into the frame being filled.
 *
 * A child's stdout pipe reaches JS as a stream: every read lands in a fresh 64 KiB buffer that is
 * then copied into its frame. A FIFO opened by us is a socket we create, so it can take
 * net.Socket's `onread` option: libuv reads directly into `FrameQueue.fillTarget()`, with no
 * allocation and no copy per read (docs/benchmarks.md, decode: about half of the reader's CPU).
 *
 * Node has no mkfifo, so FIFOs are made by the `mkfifo` command, a few per call, in a temporary
 * folder of this process (removed at exit, or by a later process when this one was killed), and
 * reused: a FIFO whose reader saw end of file has no writer left and is empty, so the next decode
 * gets a fresh pipe. One that was abandoned (a decode stopped early, ffmpeg killed) is deleted
 * instead, since a dying writer could still put bytes in it.
 */
import { execFile } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readdirSync, rmSync } from "node:fs";
import { Socket, type OnReadOpts, type SocketConstructorOpts } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FrameQueue } from "./frame-queue.js";

const FIFOS_PER_MKFIFO = 4;
/** `lwm-fifos-<pid>-XXXXXX`: the pid says whether the folder's process is still alive. */
const FOLDER_PREFIX = "lwm-fifos-";

/**
 * A process that is killed (or a test worker ended without 'exit') leaves its folder behind, so
 * each new pool first removes the folders of processes that no longer exist. A reused pid only
 * delays a removal; a live process's folder is never touched.
 */
export function removeDeadFolders(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = name.startsWith(FOLDER_PREFIX) ? Number(name.slice(FOLDER_PREFIX.length).split("-")[0]) : NaN;
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

class FifoPool {
  private dir: string | null = null;
  private made = 0;
  private readonly free: string[] = [];
  /** Why FIFOs cannot be made here (then decoding falls back to the stdout pipe); null when they can. */
  unsupported: string | null = process.platform === "win32" ? "no FIFOs on Windows" : null;

  /** A FIFO path, or null when this platform has none. */
  async acquire(): Promise<string | null> {
    while (!this.free.length) {
      if (this.unsupported) return null;
      try {
        await this.make();
      } catch (err) {
        this.unsupported = `mkfifo failed: ${(err as Error).message}`;
      }
    }
    return this.free.pop()!;
  }

  /** Back to the pool when `reusable` (its reader saw end of file), else deleted. */
  release(path: string, reusable: boolean): void {
    if (reusable) this.free.push(path);
    else rmSync(path, { force: true });
  }

  private async make(): Promise<void> {
    if (!this.dir) {
      removeDeadFolders();
      const dir = mkdtempSync(join(tmpdir(), `${FOLDER_PREFIX}${process.pid}-`));
      this.dir = dir;
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
    const paths = Array.from({ length: FIFOS_PER_MKFIFO }, () => join(this.dir!, `frames-${this.made++}`));
    await promisify(execFile)("mkfifo", ["-m", "600", ...paths]);
    this.free.push(...paths);
  }
}

export const fifoPool = new FifoPool();

/**
 * The read end of a FIFO that ffmpeg writes rgb24 frames to. Reading stops while the queue is full
 * (ffmpeg then blocks on the pipe) and resumes when the consumer takes a frame.
 */
export class FifoReader {
  readonly frames: FrameQueue;
  private readonly socket: Socket;
  private holder: number | null;
  private eof = false;
  /** A read error (the frames end early; the decode reports it). */
  error: Error | null = null;

  constructor(path: string, frameBytes: number, maxQueued = 4, reuse = false) {
    this.frames = new FrameQueue(frameBytes, maxQueued, reuse);
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    // A FIFO without a writer reads as end of file, and ffmpeg opens it only after it has probed its
    // input (or never, when it fails first): we hold a write end of our own until ffmpeg has exited.
    try {
      this.holder = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    // `buffer` is asked again after every read, so each read lands where the last one stopped.
    const onread: OnReadOpts = {
      buffer: () => this.frames.fillTarget(),
      callback: (n: number) => {
        this.frames.filledBy(n);
        return !this.frames.full;
      },
    };
    // @types/node 20 declares `onread` for connect() only; Node ≥ 12 takes it in the constructor too.
    this.socket = new Socket({ fd, readable: true, writable: false, onread } as SocketConstructorOpts);
    this.frames.onSpace = () => this.socket.resume();
    this.socket.on("end", () => {
      this.eof = true;
      this.frames.end();
    });
    this.socket.on("error", (err: Error) => {
      this.error = err;
      this.frames.end();
    });
  }

  /** ffmpeg has exited: once the pipe is drained the reader sees end of file. */
  writerExited(): void {
    if (this.holder === null) return;
    closeSync(this.holder);
    this.holder = null;
  }

  /** Closes both ends; true when the reader had seen end of file (the FIFO may be reused). */
  close(): boolean {
    this.writerExited();
    this.socket.destroy();
    return this.eof;
  }
}
