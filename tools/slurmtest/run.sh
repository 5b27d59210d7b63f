#!/bin/bash
# make slurm-test: deploy/slurm's job array on a real Slurm, and deploy/k8s's
# manifests against the Kubernetes schemas (docs/SWEEPS.md, "Tested on a real
# Slurm").
#
#   tools/slurmtest/run.sh DIR
#
# Installs Debian's slurm-wlm and munge where absent (apt-get, as root or
# through sudo), then, in DIR and nowhere else, starts a one-node cluster: a
# munged on its own socket and key, slurmctld and slurmd from a generated
# slurm.conf on their own ports, as this user; no system service is touched.
# On it: deploy/slurm/sweep.sbatch as a 4-task array on a small plan, one
# task cancelled mid-way (scancel) and resubmitted alone, merge.sbatch with
# its dependency; the merged sweep must equal one unsharded run row for row.
# Then tools/slurmtest/kubeconform.sh validates deploy/k8s. Every daemon it
# started is stopped at the end, by its pid. Exit 0 when all holds.
set -euo pipefail

DIR=$(mkdir -p "${1:?usage: run.sh DIR}" && cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GO=${GO:-go}
log() { printf '[slurm-test %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

install_packages() {
	local missing=()
	command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null || missing+=(slurm-wlm)
	command -v munged >/dev/null || missing+=(munge)
	[ ${#missing[@]} -eq 0 ] && { log "slurm-wlm and munge are installed"; return; }
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
	log "installing ${missing[*]} (apt-get)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$DIR/apt.log" 2>&1
	# RUNLEVEL=1: invoke-rc.d in the packages' scripts starts no service
	# (on this kind of machine a policy-rc.d denies it too, and no init runs).
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 ||
		fail "apt-get install ${missing[*]}: see $DIR/apt.log"
}

# stop_all stops the daemons this script started (their pid files in DIR).
stop_all() {
	for f in "$DIR"/run/slurmd.pid "$DIR"/run/slurmctld.pid "$DIR"/run/munged.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
}

start_munge() {
	mkdir -p "$DIR/munge" "$DIR/run"
	chmod 700 "$DIR/munge"
	[ -s "$DIR/munge/munge.key" ] || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
	chmod 400 "$DIR/munge/munge.key"
	MUNGE_SOCKET="$DIR/run/munge.socket"
	# --force: munged refuses to run as root, or on a directory it does not
	# own exclusively, without it.
	munged --force --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
		--pid-file="$DIR/run/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" ||
		fail "munged did not start: $(tail -3 "$DIR/munge/munged.log" 2>/dev/null)"
	munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" >/dev/null || fail "munge round trip"
	log "munged on $MUNGE_SOCKET"
}

write_conf() {
	local host user cpus mem
	# A fresh cluster: no job state or logs of an earlier run.
	rm -rf "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/results"
	host=$(hostname -s) user=$(id -un) cpus=$(nproc)
	mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
	mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
	cat >"$DIR/slurm.conf" <<CONF
ClusterName=mimverify-test
SlurmctldHost=$host
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF="$DIR/slurm.conf"
}

start_slurm() {
	slurmctld -f "$SLURM_CONF" || fail "slurmctld: $(tail -5 "$DIR/log/slurmctld.log")"
	slurmd -f "$SLURM_CONF" || fail "slurmd: $(tail -5 "$DIR/log/slurmd.log")"
	for _ in $(seq 60); do
		state=$(sinfo -h -o %T 2>/dev/null | head -1)
		case $state in idle*|mix*|alloc*) log "node $state: $(sinfo -h -o '%N %c CPUs %m MB')"; return ;; esac
		sleep 1
	done
	fail "the node did not come up (state '$state'): $(tail -5 "$DIR/log/slurmd.log")"
}

# wait_job ID: until no task of job ID is pending or running.
wait_job() {
	for _ in $(seq 600); do
		[ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return
		sleep 1
	done
	fail "job $1 still queued after 10 min"
}

# job_states ID: "task state exit" per line, from scontrol.
job_states() {
	scontrol -o show job "$1" | sed -n 's/.*ArrayTaskId=\([0-9]*\).*JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\).*/\1 \2 \3/p'
}

run_sweep() {
	local out="$DIR/results" plan jid jid2 jid3 victim=1 lines
	plan="--preset default --vary gamma=0.3,0.4,0.5,0.6 --vary z.U=1.2,1.5 --seeds 3 --claims C2,C3,C5,C7 --samples 128 --eval 16"
	rm -rf "$out" && mkdir -p "$out"
	export MIMVERIFY="$DIR/mimverify" OUT="$out" SHARDS=4 PLAN="$plan"
	log "plan: $plan (24 points, 4 shards of 6)"
	jid=$(sbatch --parsable --array=0-3 --cpus-per-task=1 --chdir="$DIR" --output="$DIR/log/sweep-%A_%a.log" "$ROOT/deploy/slurm/sweep.sbatch")
	log "submitted sweep.sbatch as array job $jid (tasks 0-3)"
	# Cancel task $victim once it has finished a point and before it is done.
	for _ in $(seq 1200); do
		lines=$(grep -c '"point":{' "$out/shard-$victim.jsonl" 2>/dev/null || true)
		[ "${lines:-0}" -ge 1 ] && break
		sleep 0.1
	done
	scancel "${jid}_$victim"
	log "scancel ${jid}_$victim with ${lines:-0} of 6 points in its results file"
	wait_job "$jid"
	job_states "$jid" | sed 's/^/[slurm-test]   task /'
	job_states "$jid" | grep -q "^$victim CANCELLED" || fail "task $victim was not cancelled mid-way (it finished first): make its points slower"
	kept=$(grep -c '"point":{' "$out/shard-$victim.jsonl" || true)
	"$MIMVERIFY" merge --format csv --out "$DIR/early.csv" "$out"/shard-*.jsonl 2>"$DIR/early.err" && fail "merge accepted an unfinished shard"
	log "merge before the resubmission refuses: $(head -1 "$DIR/early.err")"
	jid2=$(sbatch --parsable --array=$victim --cpus-per-task=1 --chdir="$DIR" --output="$DIR/log/sweep-%A_%a.log" "$ROOT/deploy/slurm/sweep.sbatch")
	jid3=$(sbatch --parsable --dependency="afterany:$jid,afterok:$jid2" --chdir="$DIR" --output="$DIR/log/merge-%j.log" "$ROOT/deploy/slurm/merge.sbatch")
	log "resubmitted task $victim as job $jid2 (it resumes from $kept finished points); merge.sbatch as job $jid3 (--dependency=afterany:$jid,afterok:$jid2)"
	wait_job "$jid2"
	grep -q "resumed $kept finished points" "$DIR"/log/sweep-"${jid2}"_$victim.log || fail "the resubmitted task did not resume: $(cat "$DIR"/log/sweep-"${jid2}"_$victim.log)"
	wait_job "$jid3"
	scontrol -o show job "$jid3" | grep -q "JobState=COMPLETED" || fail "merge job: $(scontrol -o show job "$jid3" | grep -o 'JobState=[A-Z_]*') $(cat "$DIR"/log/merge-"$jid3".log)"
	log "merge job $jid3 COMPLETED"
	# shellcheck disable=SC2086 # PLAN is a list of flags
	"$MIMVERIFY" sweep $plan --jobs "$(nproc)" --progress never --format csv --out "$DIR/unsharded.csv" >/dev/null
	diff "$DIR/unsharded.csv" "$out/sweep.csv" >"$DIR/diff.txt" || fail "the merged sweep differs from one unsharded run: $DIR/diff.txt"
	log "merged sweep.csv = unsharded run, row for row: $(($(grep -vc '^#' "$out/sweep.csv") - 1)) rows (24 points × 4 claims); $(tail -1 "$out/sweep.csv")"
}

main() {
	install_packages
	log "$(slurmctld -V), $(munged -V 2>&1 | head -1)"
	(cd "$ROOT" && "$GO" build -o "$DIR/mimverify" ./cmd/mimverify)
	trap stop_all EXIT
	start_munge
	write_conf
	start_slurm
	start=$(date +%s)
	run_sweep
	log "slurm part: $(($(date +%s) - start)) s"
	"$ROOT/tools/slurmtest/kubeconform.sh" "$DIR"
	log "PASS"
}

main
