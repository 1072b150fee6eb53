/**
 * `lwm validate <shard|dir|manifest> [--json] [--max-errors N]` — proves shards correct: every
 * rule of schemas/FORMAT.md on every row. Exit 0 valid, 1 invalid, 2 usage or I/O error.
 */
import { stat } from "node:fs/promises";
import { validate, ValidateTargetError, type ValidationReport } from "@lwm/shards";
import { errorMessage, isSystemError, parseCommandLine, usageError, wholeNumber } from "../args.js";

const USAGE = "usage: lwm validate <shard.arrow|dir|manifest.json> [--json] [--max-errors N]\n";

function humanReport(report: ValidationReport): string {
  const lines = report.errors.map((e) => {
    const where = [e.shard, e.row === null ? null : `row ${e.row}`, e.token === null ? null : `token ${e.token}`].filter(Boolean).join(" ");
    return `${where}: [${e.rule}] ${e.message}`;
  });
  const total = Object.values(report.errorCounts).reduce((a, b) => a + (b ?? 0), 0);
  if (report.truncated) lines.push(`… ${total - report.errors.length} more errors not shown (--max-errors)`);
  const counts = Object.entries(report.errorCounts)
    .map(([rule, n]) => `${rule}: ${n}`)
    .join(", ");
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
  const target = positionals[0]!;
  // Only regular files and folders are read: a FIFO or a device would hang the validator or never end.
  const kind = await targetKind(target);
  if (kind !== "file" && kind !== "folder") return usageError("validate", `${target}: ${kind}`);
  let report: ValidationReport;
  try {
    report = await validate(target, { maxErrors });
  } catch (err) {
    // A target that is not shards, or one the file system cannot read: nothing was validated.
    if (err instanceof ValidateTargetError || isSystemError(err)) return usageError("validate", err.message);
    throw err;
  }
  process.stdout.write(values.json ? JSON.stringify(report) + "\n" : humanReport(report));
  return report.ok ? 0 : 1;
}

/** "file", "folder", or why the target cannot be validated. */
async function targetKind(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    return isSystemError(err) && err.code === "ENOENT" ? "no such file or folder" : errorMessage(err);
  }
  if (info.isFile()) return "file";
  if (info.isDirectory()) return "folder";
  const what = info.isFIFO()
    ? "a FIFO (named pipe)"
    : info.isCharacterDevice()
      ? "a character device"
      : info.isBlockDevice()
        ? "a block device"
        : info.isSocket()
          ? "a socket"
          : "something else";
  return `not a regular file or folder: it is ${what}`;
}
