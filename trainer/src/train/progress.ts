import { formatDuration } from "@lwm/core";

/** One progress line per interval on stderr: step, loss, rate and ETA. */
export class StepProgress {
  private last = -Infinity;
  private readonly started = performance.now();
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly already: number,
    private readonly write: (line: string) => void,
    private readonly intervalMs = 2000,
  ) {}

  /** Records a finished step; writes a line when the interval has passed or the stage is done. */
  step(stageStep: number, loss: number, tokensPerSecond: number): void {
    this.done += 1;
    const now = performance.now();
    if (now - this.last < this.intervalMs && stageStep < this.total) return;
    this.last = now;
    const perStep = (now - this.started) / 1000 / this.done;
    const eta = formatDuration(perStep * (this.total - stageStep));
    const rate = tokensPerSecond >= 1000 ? `${(tokensPerSecond / 1000).toFixed(1)}K` : tokensPerSecond.toFixed(0);
    this.write(
      `[${this.label}] step ${stageStep}/${this.total} loss ${loss.toFixed(4)} | ${rate} tok/s | ${perStep.toFixed(2)} s/step | ETA ${eta}${this.already ? ` (resumed at ${this.already})` : ""}\n`,
    );
  }
}
