#!/usr/bin/env bash
# A single-node Slurm on this machine, to run scripts/regress-slurm.sh for
# real: slurmctld and slurmd on localhost, munge for authentication.
#
#   sudo bash scripts/slurm-local.sh start    # install (Debian slurm-wlm, munge) if missing, configure, start
#   sudo bash scripts/slurm-local.sh status
#   sudo bash scripts/slurm-local.sh stop     # stop the three daemons it started (by their PIDs)
#
# Runs as root with no cgroups (TOOLCHAIN-NOTES.md; munged runs as root with
# --force: in containers /dev/null may not be writable by the munge user):
# proctrack/linuxproc,
# task/none. It writes /etc/slurm/slurm.conf only when that file is absent
# or was written by this script (marker line), and keeps its state under
# /var/lib/fpec-slurm, logs under /var/log/fpec-slurm.
set -euo pipefail

state=/var/lib/fpec-slurm
logs=/var/log/fpec-slurm
conf=/etc/slurm/slurm.conf
marker="# written by fpec scripts/slurm-local.sh"

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "slurm-local: run as root (sudo bash scripts/slurm-local.sh $1)" >&2
        exit 2
    fi
}

pid_of() { [ -s "$1" ] && cat "$1" || true; }

start() {
    need_root start
    if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
    fi
    mkdir -p "$state/ctld" "$state/d" "$logs" /etc/slurm /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
        echo "slurm-local: $conf exists and was not written by this script; not touching it" >&2
        exit 1
    fi
    host="$(hostname -s)"
    cat >"$conf" <<CONF
$marker
ClusterName=fpec-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ReturnToService=2
MaxArraySize=100001
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    [ -n "$(pid_of /run/munge/munged.pid)" ] && kill -0 "$(pid_of /run/munge/munged.pid)" 2>/dev/null \
        || munged --force
    slurmctld
    slurmd
    for _ in $(seq 1 30); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
            sinfo
            return 0
        fi
        sleep 1
    done
    echo "slurm-local: the node did not come up; see $logs" >&2
    sinfo || true
    exit 1
}

stop() {
    need_root stop
    for f in "$state/slurmd.pid" "$state/slurmctld.pid" /run/munge/munged.pid; do
        p="$(pid_of "$f")"
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill "$p"
            echo "slurm-local: stopped $(basename "$f" .pid) (pid $p)"
        fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo && squeue ;;
    *) echo "usage: scripts/slurm-local.sh start|stop|status" >&2; exit 2 ;;
esac
