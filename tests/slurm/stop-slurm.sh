#!/usr/bin/env bash
# Stops what start-slurm.sh DIR started, by the pids it recorded (slurmd, slurmctld, then munged if
# it started it), and waits until they are gone (a zombie counts as gone).
set -uo pipefail
dir=${1:?usage: stop-slurm.sh DIR}
[ -f "$dir/pids" ] || exit 0
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }
tac "$dir/pids" | while read -r name pid; do
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; echo "slurm: $name ($pid) needed SIGKILL" >&2; fi
done
rm -f "$dir/pids"
