/**
 * An error found in a shard or manifest, tagged with the validator rule it breaks (see
 * schemas/FORMAT.md, "Validator rules") so that the reader, the validator and the CLI report the
 * same ids.
 */
import type { RuleId } from "./validate/rules.js";

export class ShardError extends Error {
  constructor(
    readonly rule: RuleId,
    readonly shard: string,
    readonly detail: string,
    readonly row: number | null = null,
    readonly token: number | null = null,
  ) {
    super(`${shard}${row === null ? "" : ` row ${row}`}${token === null ? "" : ` token ${token}`}: [${rule}] ${detail}`);
    this.name = "ShardError";
  }
}
