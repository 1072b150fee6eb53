import type { Logger } from "./logger.js";

export interface ProgressOptions {
  /** What is counted, e.g. "units" or "bytes". */
  unit: string;
  total: number;
  logger: Logger;
  /** Minimum milliseconds between lines. */
  intervalMs?: number;
  label?: string;
  /** Shown in the unit's place: e.g. bytes as MB (default: the value itself). */
  format?: (amount: number) => string;
  /** Appended to each line, e.g. "(9/19 units)". */
  suffix?: () => string;
  now?: () => number;
}

/** Periodic progress lines with rate and ETA, for work that takes longer than a few seconds. */
export class Progress {
  private done = 0;
  private readonly started: number;
  private lastLine: number;
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastLine = this.started;
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  /** Adds `amount` of finished work; logs a line when the interval has passed. */
  advance(amount: number): void {
    this.done += amount;
    const now = this.now();
    if (now - this.lastLine >= this.intervalMs) {
      this.lastLine = now;
      this.options.logger.info(this.line(now));
    }
  }

  get completed(): number {
    return this.done;
  }

  /** e.g. "books: 12/40 units (30.0%), 1.50 units/s, ETA 19s" */
  line(now = this.now()): string {
    const { unit, total, label } = this.options;
    const seconds = Math.max((now - this.started) / 1000, 1e-9);
    const rate = this.done / seconds;
    const pct = total > 0 ? ((100 * this.done) / total).toFixed(1) : "100.0";
    const eta = rate > 0 && total > this.done ? formatDuration((total - this.done) / rate) : this.done >= total ? "0s" : "unknown";
    const f = this.options.format ?? ((x: number) => String(x));
    const suffix = this.options.suffix ? ` ${this.options.suffix()}` : "";
    return `${label ? `${label}: ` : ""}${f(this.done)}/${f(total)} ${unit} (${pct}%), ${f(rate)} ${unit}/s, ETA ${eta}${suffix}`;
  }
}

/** A duration for people: 42s, 3m07s, 2h05m ("unknown" when not a finite, non-negative number). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "unknown";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
