#!/usr/bin/env node
/**
 * The `lwm` command. Each subcommand lives in ./commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` returning the exit code
 * (0 ok, 1 the checked thing is invalid / the job failed, 2 usage or I/O error).
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  run: {
    summary: "run a recipe's pipeline steps: lwm run <recipe.json> [--out DIR] [--steps a,b] [--task-index i --task-count n]",
    load: () => import("./commands/run.js"),
  },
  launch: {
    summary:
      "run a recipe's steps as slices on this machine, Slurm or Kubernetes: lwm launch <recipe.json> --executor local|slurm|k8s [--tasks N] [--parallel M] [--status] [--dry-run]",
    load: () => import("./commands/launch.js"),
  },
  validate: { summary: "prove shards correct: lwm validate <shard|dir|manifest> [--json]", load: () => import("./commands/validate.js") },
  inspect: { summary: "show what shards hold: lwm inspect <shard|dir|manifest> [--row N] [--json]", load: () => import("./commands/inspect.js") },
  train: {
    summary: "progressive RingAttention training: lwm train <recipe.json> [--stages a,b] [--workers P] [--resume] [--init HF_DIR] [--out DIR]",
    load: () => import("./commands/train.js"),
  },
  report: {
    summary: "one HTML page of a dataset and its runs: lwm report <out dir> [--runs DIR…] [--out report.html] [--no-validate]",
    load: () => import("./commands/report.js"),
  },
  vqgan: { summary: "vision tokenizer: lwm vqgan build|fit|encode|decode (frames ↔ VQGAN codes)", load: () => import("./commands/vqgan.js") },
  eval: {
    summary: "evaluate a checkpoint: lwm eval needle --checkpoint DIR --haystack FILES [--lengths ..] [--depths ..]",
    load: () => import("./commands/eval.js"),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return `usage: lwm <command> [args]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`lwm: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lwm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
