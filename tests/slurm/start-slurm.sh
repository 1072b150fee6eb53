#!/usr/bin/env bash
# Starts a throwaway single-node Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm and munge)
# whose configuration, state, logs and pids all live in DIR, and waits until its node is idle.
#
#   tests/slurm/start-slurm.sh DIR     then   SLURM_CONF=DIR/slurm.conf sbatch …
#   tests/slurm/stop-slurm.sh DIR      stops what this started, by pid
#
# Exit 0: running. Exit 3: Slurm cannot start here (not root, packages missing); one line says why.
# Exit 1: it should have started and did not (the logs in DIR say why).
# Settings and gotchas: see ../shared/reference/slurm.md (proctrack/linuxproc and task/none, so
# neither systemd nor cgroups are needed).
set -euo pipefail
dir=${1:?usage: start-slurm.sh DIR}
skip() { echo "slurm: cannot start: $*" >&2; exit 3; }

[ "$(id -u)" = 0 ] || skip "needs root (slurmd runs jobs as their users)"
for bin in munged slurmctld slurmd sinfo sbatch; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || skip "$bin not installed (apt-get install slurm-wlm munge)"
done
[ -f /etc/munge/munge.key ] || skip "/etc/munge/munge.key missing (reinstall munge)"

mkdir -p "$dir/state" "$dir/spool"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.85 }' /proc/meminfo)
# Ports of our own, so that a second test cluster (another checkout) does not collide.
ctld_port=$((20000 + RANDOM % 20000))
slurmd_port=$((ctld_port + 1))

cat > "$dir/slurm.conf" <<CONF
ClusterName=lwmtest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire + 1 s before it may start again (default 120).
AuthInfo=cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
KillWait=10
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

: > "$dir/pids"
if ! pgrep -x munged >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged --force
  # munged forks into the background and writes its own pid file.
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  echo "munged $(cat /run/munge/munged.pid)" >> "$dir/pids"
fi

export SLURM_CONF=$dir/slurm.conf
setsid /usr/sbin/slurmctld -D -i >> "$dir/slurmctld.out" 2>&1 < /dev/null &
echo "slurmctld $!" >> "$dir/pids"
setsid /usr/sbin/slurmd -D >> "$dir/slurmd.out" 2>&1 < /dev/null &
echo "slurmd $!" >> "$dir/pids"

for _ in $(seq 300); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  if [ "$state" = idle ]; then echo "slurm: node $host idle (SLURM_CONF=$dir/slurm.conf)"; exit 0; fi
  sleep 0.1
done
echo "slurm: node $host not idle after 30 s (state: ${state:-none}); see $dir/*.log $dir/*.out" >&2
exit 1
