import type { RuleId } from "./rules.js";

export interface ValidationError {
  /** Shard file name (or the manifest's, for manifest-level errors). */
  shard: string;
  /** Row index in the shard, null for file-level errors. */
  row: number | null;
  /** Token index in the row, null when the error is not about one token. */
  token: number | null;
  rule: RuleId;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  shards: number;
  rows: number;
  tokens: number;
  /** The first maxErrors errors. */
  errors: ValidationError[];
  /** Every error counted per rule, including those past maxErrors. */
  errorCounts: Partial<Record<RuleId, number>>;
  /** True when errors were left out of `errors`. */
  truncated: boolean;
}

/** Collects errors, keeping the first `maxErrors` and a count of all per rule. */
export class ErrorCollector {
  readonly errors: ValidationError[] = [];
  readonly counts: Partial<Record<RuleId, number>> = {};
  total = 0;

  constructor(private readonly maxErrors: number) {}

  add(shard: string, rule: RuleId, message: string, row: number | null = null, token: number | null = null): void {
    this.total++;
    this.counts[rule] = (this.counts[rule] ?? 0) + 1;
    if (this.errors.length < this.maxErrors) this.errors.push({ shard, row, token, rule, message });
  }

  get truncated(): boolean {
    return this.total > this.errors.length;
  }
}
