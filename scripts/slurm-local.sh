#!/usr/bin/env bash
# A real single-node Slurm for tests (tests/tests/slurm.rs): Debian's
# slurmctld + slurmd + slurm-client and munge, no systemd, no cgroups.
#
#   scripts/slurm-local.sh start   install (apt-get, only what is missing),
#                                  write slurm.conf, start munged, slurmctld,
#                                  slurmd; wait (bounded) for the node to be idle
#   scripts/slurm-local.sh stop    stop exactly the daemons `start` recorded
#   scripts/slurm-local.sh status  exit 0 when the node is up and idle
#
# State, logs and pid files live in $SLURM_LOCAL_DIR (default
# /var/tmp/slurm-local). Needs root (it installs packages and writes
# /etc/slurm/slurm.conf). Every wait is bounded by clock time.
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-/var/tmp/slurm-local}"
CONF=/etc/slurm/slurm.conf
WAIT_SECS="${SLURM_LOCAL_WAIT_SECS:-60}"

log() { echo "slurm-local: $*" >&2; }

# `kill -0` succeeds on zombies: a pid is alive if /proc says so and it is not Z.
alive() {
    local pid="$1"
    [[ -r "/proc/$pid/stat" ]] || return 1
    local state
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)"
    [[ "$state" != "Z" ]]
}

install_missing() {
    local need=()
    command -v slurmctld >/dev/null || need+=(slurmctld)
    command -v slurmd >/dev/null || need+=(slurmd)
    command -v sbatch >/dev/null || need+=(slurm-client)
    command -v munged >/dev/null || need+=(munge)
    if ((${#need[@]})); then
        log "installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        timeout 300 apt-get update -qq
        timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
}

write_conf() {
    local host node
    host="$(hostname -s)"
    # The node's real topology (CPUs, sockets, cores, threads, memory).
    node="$(slurmd -C | head -n1)"
    [[ "$node" == NodeName=* ]] || { log "slurmd -C printed: $node"; exit 1; }
    node="$(sed -E "s/^NodeName=[^ ]+/NodeName=$host NodeAddr=127.0.0.1/" <<<"$node") State=UNKNOWN"
    mkdir -p /etc/slurm "$DIR/state" "$DIR/spool" "$DIR/log"
    cat >"$CONF" <<EOF
# Written by rdpbench scripts/slurm-local.sh: one node, no systemd, no cgroups.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
MaxArraySize=10001
MaxJobCount=100000
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
$node
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

node_state() {
    timeout 10 sinfo -h -n "$(hostname -s)" -o %t 2>/dev/null | head -n1 || true
}

start() {
    if [[ -f "$DIR/pids" ]]; then
        local all=1
        while read -r _ pid; do alive "$pid" || all=0; done <"$DIR/pids"
        if ((all)) && [[ "$(node_state)" == idle* ]]; then
            log "already running"
            return 0
        fi
        stop
    fi
    install_missing
    write_conf
    : >"$DIR/pids"
    mkdir -p /run/munge
    chown munge:munge /run/munge
    [[ -s /etc/munge/munge.key ]] || { log "no /etc/munge/munge.key"; exit 1; }
    # Each daemon in the foreground, backgrounded here, so $! is the daemon;
    # setpriv execs (su/runuser would leave a wrapper pid).
    setpriv --reuid=munge --regid=munge --init-groups munged -F \
        </dev/null >"$DIR/log/munged.out" 2>&1 &
    echo "munged $!" >>"$DIR/pids"
    local deadline=$((SECONDS + WAIT_SECS))
    until [[ -S /run/munge/munge.socket.2 ]]; do
        ((SECONDS < deadline)) || { log "munged did not start (see $DIR/log/munged.out)"; exit 1; }
        sleep 0.1
    done
    slurmctld -D -f "$CONF" </dev/null >"$DIR/log/slurmctld.out" 2>&1 &
    echo "slurmctld $!" >>"$DIR/pids"
    slurmd -D -N "$(hostname -s)" -f "$CONF" </dev/null >"$DIR/log/slurmd.out" 2>&1 &
    echo "slurmd $!" >>"$DIR/pids"
    until [[ "$(node_state)" == idle* ]]; do
        if ((SECONDS >= deadline)); then
            log "the node is not idle after ${WAIT_SECS}s (state: $(node_state)); logs in $DIR/log"
            exit 1
        fi
        sleep 0.2
    done
    log "node $(hostname -s) idle"
}

stop() {
    [[ -f "$DIR/pids" ]] || return 0
    local pids=()
    while read -r _ pid; do pids+=("$pid"); done <"$DIR/pids"
    # slurmd and slurmctld first, munged last (reverse order of start).
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        alive "${pids[i]}" && kill "${pids[i]}" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 20))
    for pid in "${pids[@]}"; do
        while alive "$pid"; do
            if ((SECONDS >= deadline)); then
                kill -9 "$pid" 2>/dev/null || true
                sleep 0.2
                break
            fi
            sleep 0.1
        done
    done
    rm -f "$DIR/pids"
    log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) [[ "$(node_state)" == idle* || "$(node_state)" == alloc* || "$(node_state)" == mix* ]] ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
