/**
 * `lwm report <out dir> [--runs DIR…] [--out report.html] [--vqgan DIR | --recipe R] [--no-validate] [--json]` — one
 * self-contained HTML page showing a dataset (stages, steps, rejects, lineage, vision contact sheets) and its training runs
 * (<out dir>/runs/* are found without --runs). A partial or failed dataset still gets a page that
 * says what is missing. Exit 0 written, 2 usage or I/O error.
 */
import { writeFileAtomic } from "@lwm/core";
import { buildReport } from "@lwm/report";
import { errorMessage, parseCommandLine, usageError } from "../args.js";
import { reportPath } from "../report-hint.js";

const USAGE =
  "usage: lwm report <out dir> [--runs DIR]… [--out report.html] [--vqgan DIR | --recipe recipe.json] [--no-validate] [--json]\n" +
  "  <out dir>      the output root of lwm run (holds <stage>/manifest.json and work/)\n" +
  "  --runs DIR     training run folders (repeat the flag or give DIR,DIR); <out dir>/runs/* are found without it\n" +
  "  --out FILE     where to write the page (default: <out dir>/report.html)\n" +
  "  --vqgan DIR    the VQ model folder that decodes the vision stages' rows into contact sheets\n" +
  "  --recipe FILE  the recipe, whose vqgan names that folder (instead of --vqgan)\n" +
  "  --no-validate  skip running the validator on every shard (the page says so)\n" +
  "  --json         print {report, bytes, sections, problems} as JSON on stdout\n";

export async function run(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "report",
    USAGE,
    argv,
    {
      runs: { type: "string", multiple: true },
      out: { type: "string" },
      "no-validate": { type: "boolean" },
      vqgan: { type: "string" },
      recipe: { type: "string" },
      json: { type: "boolean" },
    },
    { count: 1, what: "one output folder" },
  );
  if (typeof cl === "number") return cl;
  const { values, positionals } = cl;
  const outDir = positionals[0]!;
  const target = values.out ?? reportPath(outDir);
  let result;
  try {
    result = await buildReport({
      outDir,
      runs: (values.runs ?? []).flatMap((r) => r.split(",")).filter(Boolean),
      validate: values["no-validate"] !== true,
      vqgan: values.vqgan,
      recipe: values.recipe,
      log: (line) => process.stderr.write(`lwm report: ${line}\n`),
    });
    await writeFileAtomic(target, result.html);
  } catch (err) {
    return usageError("report", errorMessage(err));
  }
  const absent = result.sections.filter((s) => !s.present);
  if (values.json) {
    process.stdout.write(JSON.stringify({ report: target, bytes: result.bytes, sections: result.sections, problems: result.problems }) + "\n");
  } else {
    process.stdout.write(`wrote ${target} (${(result.bytes / 1024).toFixed(0)} KiB)\n`);
    for (const s of absent) process.stdout.write(`  absent: ${s.title}: ${s.why}\n`);
    for (const p of result.problems) process.stdout.write(`  problem: ${p}\n`);
  }
  return 0;
}
