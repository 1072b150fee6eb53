/**
 * `lwm validate <shard|dir|manifest> [--json] [--max-errors N]` — proves shards correct: every
 * rule of schemas/FORMAT.md on every row. Exit 0 valid, 1 invalid, 2 usage or I/O error.
 */
import { validate, ValidateTargetError, type ValidationReport } from "@lwm/shards";
import { isSystemError, parseCommandLine, usageError, wholeNumber } from "../args.js";

const USAGE = "usage: lwm validate <shard.arrow|dir|manifest.json> [--json] [--max-errors N]\n";

function humanReport(report: ValidationReport): string {
  const lines = report.errors.map((e) => {
    const where = [e.shard, e.row === null ? null : `row ${e.row}`, e.token === null ? null : `token ${e.token}`].filter(Boolean).join(" ");
    return `${where}: [${e.rule}] ${e.message}`;
  });
  const total = Object.values(report.errorCounts).reduce((a, b) => a + (b ?? 0), 0);
  if (report.truncated) lines.push(`… ${total - report.errors.length} more errors not shown (--max-errors)`);
  const counts = Object.entries(report.errorCounts).map(([rule, n]) => `${rule}: ${n}`).join(", ");
  const scope = `${report.shards} shard${report.shards === 1 ? "" : "s"}, ${report.rows} rows, ${report.tokens} tokens`;
  lines.push(report.ok ? `valid: ${scope}` : `INVALID: ${total} error${total === 1 ? "" : "s"} in ${scope} (${counts})`);
  return lines.join("\n") + "\n";
}

export async function run(argv: string[]): Promise<number> {
  const cl = parseCommandLine("validate", USAGE, argv, { json: { type: "boolean" }, "max-errors": { type: "string" } }, { count: 1, what: "one target" });
  if (typeof cl === "number") return cl;
  const { values, positionals } = cl;
  const maxErrors = values["max-errors"] === undefined ? 100 : wholeNumber(values["max-errors"]);
  if (maxErrors === null) return usageError("validate", `--max-errors must be a non-negative integer, got ${values["max-errors"]}`);
  let report: ValidationReport;
  try {
    report = await validate(positionals[0]!, { maxErrors });
  } catch (err) {
    // A target that is not shards, or one the file system cannot read: nothing was validated.
    if (err instanceof ValidateTargetError || isSystemError(err)) return usageError("validate", err.message);
    throw err;
  }
  process.stdout.write(values.json ? JSON.stringify(report) + "\n" : humanReport(report));
  return report.ok ? 0 : 1;
}
