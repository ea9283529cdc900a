#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, up for the duration of one command:
#
#   tools/slurm-local/with-slurm.sh [--install] <command> [args...]      (as root)
#
# Starts munged (unless one already answers), MariaDB, slurmdbd, slurmctld and slurmd, all as
# root and in the foreground as children of this script; runs <command> with SLURM_CONF pointing
# at the cluster; and stops every daemon it started, by process id, when the command ends or the
# script is interrupted. Its exit status is the command's.
#
# Why each piece (see docs/cluster.md):
#   - slurmdbd + MariaDB: snakemake-executor-plugin-slurm checks `slurm_account` with `sacctmgr`
#     and asks `sacct` why a job failed, and cluster_check.py reads every job from `sacct`; all
#     need the accounting database. With it the plugin runs as on a production cluster.
#   - Partitions `cpu` (default) and `gpu`, the names profiles/slurm uses; the node declares
#     `Gres=gpu:1` on /dev/null (gres.conf File=/dev/null): SLURM schedules and accounts it; no job can
#     use a real GPU. Accounts `my_account` (profiles/slurm's placeholder) and `validsplice`.
#   - The node declares VALIDSPLICE_SLURM_CPUS CPUs (default 8, SlurmdParameters=config_overrides)
#     so that profiles/slurm's 8-thread jobs are accepted on a 2-core machine; memory is a
#     consumable resource, so the profile's 8,000 MB requests decide how many jobs run at once.
#
# Configuration, state, spool, database and logs live in VALIDSPLICE_SLURM_DIR (default
# /tmp/validsplice-slurm, wiped at each start); nothing under /etc is changed. The daemons listen
# on 127.0.0.1, ports VALIDSPLICE_SLURM_PORT_BASE..+2 (default 16817-16819), MariaDB on a socket only.
# --install first apt-get installs the Debian packages (Debian 12 ships SLURM 22.05).
set -euo pipefail
{  # the whole script is read before it runs: editing this file during a run cannot change that run

PACKAGES=(slurm-wlm slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
STATE=${VALIDSPLICE_SLURM_DIR:-/tmp/validsplice-slurm}
CPUS=${VALIDSPLICE_SLURM_CPUS:-8}
PORT_BASE=${VALIDSPLICE_SLURM_PORT_BASE:-16817}

say() { printf '[slurm-local] %s\n' "$*" >&2; }

if [[ ${1:-} == --install ]]; then
    shift
    missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
if (($# == 0)); then
    echo "usage: $0 [--install] <command> [args...]" >&2
    exit 2
fi
if [[ $(id -u) != 0 ]]; then
    echo "$0: the daemons must be started as root" >&2
    exit 2
fi
for tool in munge munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd sbatch sacct sacctmgr; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found: run with --install (apt-get)" >&2; exit 2; }
done

# ------------------------------------------------------------------ stop what we started, by pid
PIDS=()
stop_all() {
    local status=$?
    trap - EXIT INT TERM
    local i
    if [[ -n ${CTLD_STARTED:-} ]]; then  # no job may outlive its cluster: cancel, then wait for their steps to end
        squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
        for _ in $(seq 60); do [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break; sleep 0.5; done
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do  # reverse start order: slurmd first, munged last
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
    if ((${#PIDS[@]})); then say "stopped ${#PIDS[@]} daemons (pids ${PIDS[*]})"; fi
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() {  # start <name> <command...>: in the background, output to its log, pid remembered
    local name=$1
    shift
    "$@" >"$STATE/log/$name.out" 2>&1 &
    PIDS+=($!)
    echo "$! $name" >>"$STATE/run/started.pids"  # for whoever checks that all were stopped
}

wait_for() {  # wait_for <what> <seconds> <command...>
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)); do
        timeout 10 "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    say "$what did not come up in ${seconds}s; its logs:"
    tail -n 20 "$STATE"/log/* >&2 || true
    return 1
}

# ------------------------------------------------------------------ configuration
rm -rf "$STATE"
mkdir -p "$STATE"/{etc,log,ctld,spool,run,db}
HOST=$(hostname -s)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
export SLURM_CONF=$STATE/etc/slurm.conf

cat >"$SLURM_CONF" <<CONF
ClusterName=validsplice-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT_BASE
SlurmdPort=$((PORT_BASE + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmdParameters=config_overrides
# configless slurmd: it fetches this file from slurmctld and points each job's SLURM_CONF at its copy,
# so that srun inside a job (the plugin runs every rule through srun) finds the cluster without /etc/slurm
SlurmctldParameters=enable_configless
# no cgroups inside a container or sandboxed VM
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
KillWait=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((PORT_BASE + 2))
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu
# the plugin names each job's rule in its comment; sacct shows it only when stored
AccountingStoreFlags=job_comment
GresTypes=gpu
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
CONF
# a GPU GRES on /dev/null (the gpu plugin counts a GPU only with a File): scheduled and accounted;
# a job that asks for it gets CUDA_VISIBLE_DEVICES=0 and no GPU
echo "NodeName=$HOST Name=gpu Count=1 File=/dev/null" >"$STATE/etc/gres.conf"
cat >"$STATE/etc/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=localhost
DbdPort=$((PORT_BASE + 2))
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=root
CONF
chmod 600 "$STATE/etc/slurmdbd.conf"
say "state in $STATE, SLURM_CONF=$SLURM_CONF"

# ------------------------------------------------------------------ daemons
# munge at its default socket, where the Slurm tools look; a munged that already answers is used
if ! (munge -n </dev/null | unmunge) >/dev/null 2>&1; then
    mkdir -p /run/munge
    # as root (--force) so that the pid we stop is the daemon's own
    start munged munged --foreground --force --key-file=/etc/munge/munge.key \
        --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" --seed-file="$STATE/run/munge.seed"
    wait_for munged 20 bash -c "munge -n </dev/null | unmunge"
fi

mariadb-install-db --no-defaults --user=root --datadir="$STATE/db" --auth-root-authentication-method=socket \
    >"$STATE/log/mariadb-install.out" 2>&1
start mariadbd mariadbd --no-defaults --user=root --datadir="$STATE/db" --socket="$STATE/run/mysqld.sock" \
    --skip-networking --pid-file="$STATE/run/mariadbd.pid" --log-error="$STATE/log/mariadbd.log" \
    --innodb-buffer-pool-size=64M
wait_for MariaDB 60 mariadb --no-defaults --socket="$STATE/run/mysqld.sock" -e "select 1"

# slurmdbd's MySQL client finds the socket of "localhost" in MYSQL_UNIX_PORT
MYSQL_UNIX_PORT=$STATE/run/mysqld.sock start slurmdbd slurmdbd -D
wait_for slurmdbd 30 sacctmgr -i list cluster
sacctmgr -i add cluster validsplice-local >/dev/null
sacctmgr -i add account my_account,validsplice Description="local check" Organization=validsplice >/dev/null
sacctmgr -i add user root Account=validsplice,my_account DefaultAccount=validsplice >/dev/null

start slurmctld slurmctld -D -i
CTLD_STARTED=1
wait_for slurmctld 60 scontrol ping
start slurmd env -u SLURM_CONF slurmd -D --conf-server "127.0.0.1:$PORT_BASE"
wait_for "node $HOST" 60 bash -c "sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'"
say "cluster up: $(sinfo -h -o '%P %D %T %G' | tr '\n' ' ')"

# ------------------------------------------------------------------ the command
set +e
"$@"
status=$?
set -e
exit "$status"
}
