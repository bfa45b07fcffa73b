#!/bin/sh
# e2e_sweep_slurm.sh - `resmlp sweep backend=slurm` through a real single-node Slurm (Debian slurm-wlm):
# the script writes a slurm.conf into a temp directory, starts slurmctld and slurmd on localhost (own
# ports, own state and spool, auth/none, so no munge key is needed), then runs a 2x2 grid as a job
# array and checks the gathered CSV and table; a lost cell is resubmitted alone (resumability); a sweep
# submitted with wait=false is attached to by the next call instead of being submitted twice.
# Prints SKIP with the reason (and passes) when Slurm is not installed or cannot start here.
cd "$(dirname "$0")/.." || exit 1
RM=$(pwd)/resmlp
DATA=${RESMLP_DATA:-../shared/data/cifar-10-batches-bin}
if [ ! -f "$DATA/data_batch_1.bin" ]; then echo "SKIP: no CIFAR-10 data at $DATA"; exit 0; fi
for t in slurmctld slurmd sbatch squeue sinfo; do
    command -v $t > /dev/null 2>&1 || [ -x /usr/sbin/$t ] || { echo "SKIP: Slurm is not installed ($t missing; Debian package slurm-wlm)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: slurmd needs root to start jobs as other users; this test runs as $(id -un)"; exit 0; }
PATH=$PATH:/usr/sbin
TMP=$(mktemp -d /tmp/resmlp-slurm-XXXXXX)
HOST=$(hostname -s)
PORT=$((20000 + $$ % 20000))
export SLURM_CONF=$TMP/slurm.conf
mkdir -p "$TMP/state" "$TMP/spool"
cat > "$SLURM_CONF" <<EOF
ClusterName=resmlptest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=resmlp Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" > "$TMP/ctld.out" 2>&1 &
CTLD=$!
slurmd -D -f "$SLURM_CONF" > "$TMP/d.out" 2>&1 &
SLURMD=$!
cleanup() {
    scancel --partition=resmlp > /dev/null 2>&1
    kill $SLURMD $CTLD 2>/dev/null
    wait $SLURMD $CTLD 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
up=0
for i in $(seq 1 60); do
    sinfo -h -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)' && { up=1; break; }
    kill -0 $CTLD 2>/dev/null && kill -0 $SLURMD 2>/dev/null || break
    sleep 0.25
done
if [ $up = 0 ]; then
    why=$(cat "$TMP/ctld.out" "$TMP/d.out" "$TMP/slurmctld.log" "$TMP/slurmd.log" 2>/dev/null | grep -i -E "error|fatal" | tail -1)
    echo "SKIP: single-node Slurm did not start here (${why:-no node became idle within 15 s})"
    exit 0
fi
echo "ok   single-node Slurm up ($(sinfo -h -o '%P %t %c CPUs'))"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
D=$TMP/s
GRID="--hidden 8,16 --lr 1e-3,3e-3 --epochs 1 --limit 384 --test-limit 200 --batch 64 --aug none --data $DATA --poll 0.3"

$RM sweep "$D" --backend slurm $GRID > "$TMP/o1" 2>&1; st=$?
[ $st -eq 0 ] && grep -q "submitted Slurm job array [0-9]* (4 tasks: 0-3)" "$TMP/o1" && grep -q "4 of 4 cells finished (4 now)" "$TMP/o1" \
    && ok "2x2 grid ran as a Slurm job array" || bad "slurm sweep (exit $st): $(cat "$TMP/o1")"
grep -q "^#SBATCH --array=0-3" "$D/sweep.sbatch" 2>/dev/null && ok "sbatch script generated" || bad "sbatch script: $(cat "$D/sweep.sbatch")"
[ "$(grep -c . "$D/results.csv" 2>/dev/null)" = 5 ] && ok "results.csv gathered from the array tasks" || bad "results.csv: $(cat "$D/results.csv")"
grep -q "(pid [0-9]* on $HOST" "$D/cells/cell-0003.log" 2>/dev/null && ok "task log is the cell's log" || bad "cell log: $(cat "$D/cells/cell-0003.log")"
[ "$(grep -Ec '^ +[0-3]  relu' "$TMP/o1")" = 4 ] && ok "four table rows" || bad "table: $(cat "$TMP/o1")"

# a lost cell is resubmitted alone; the others stay
sum1=$(cksum < "$D/cells/cell-0001.csv")
rm -f "$D/cells/cell-0002.csv"
$RM sweep "$D" --backend slurm --poll 0.3 > "$TMP/o2" 2>&1; st=$?
[ $st -eq 0 ] && grep -q "(1 tasks: 2)" "$TMP/o2" && grep -q "4 of 4 cells finished (1 now)" "$TMP/o2" \
    && [ "$(cksum < "$D/cells/cell-0001.csv")" = "$sum1" ] && ok "resume submits only the missing cell" || bad "resume (exit $st): $(cat "$TMP/o2")"

# wait=false returns after submitting; the next call attaches to that job instead of submitting again
D2=$TMP/s2
$RM sweep "$D2" --backend slurm --wait false --hidden 8 --lr 1e-3,3e-3 --epochs 1 --limit 384 --test-limit 200 --batch 64 \
    --aug none --data "$DATA" > "$TMP/o3" 2>&1; st=$?
[ $st -eq 0 ] && grep -q "submitted Slurm job array" "$TMP/o3" && grep -q "the rest queued" "$TMP/o3" && [ -f "$D2/slurm.job" ] && ok "wait=false submits and returns" \
    || bad "wait=false (exit $st): $(cat "$TMP/o3")"
$RM sweep "$D2" --backend slurm --poll 0.3 > "$TMP/o4" 2>&1; st=$?
if grep -q "attaching to Slurm job" "$TMP/o4" || ! grep -q "submitted" "$TMP/o4"; then
    [ $st -eq 0 ] && grep -q "2 of 2 cells finished" "$TMP/o4" && ok "second call attached (no second submission)" \
        || bad "attach (exit $st): $(cat "$TMP/o4")"
else
    bad "the second call submitted again: $(cat "$TMP/o4")"
fi
echo "$fails failed"
[ $fails -eq 0 ]
