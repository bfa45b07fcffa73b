#!/bin/sh
# e2e_sweep.sh - `resmlp sweep` on the local backend with real CIFAR-10 slices: a 2x2 grid (hidden x lr)
# is killed (SIGKILL, so nothing gets to clean up) after its first cell finished; the resumed sweep runs
# only the other cells (the finished cell's result file and log are untouched), gathers all four into
# results.csv and the table; a second resume runs nothing; the same directory refuses a different grid;
# bad axis values are one-line errors; the `sweep` command and resmlp.sweep{} in Lua read the same
# directory back; a cell with INT8 PTQ reports the integer engine's accuracy.
cd "$(dirname "$0")/.." || exit 1
RM=$(pwd)/resmlp
DATA=${RESMLP_DATA:-../shared/data/cifar-10-batches-bin}
if [ ! -f "$DATA/data_batch_1.bin" ]; then echo "SKIP: no CIFAR-10 data at $DATA"; exit 0; fi
TMP=$(mktemp -d /tmp/resmlp-sweep-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
D=$TMP/s
GRID="--hidden 8,16 --lr 1e-3,3e-3 --epochs 1 --limit 384 --test-limit 200 --batch 64 --aug none --data $DATA"

# one process at a time, so that the kill lands while cells are still to run
$RM sweep "$D" $GRID --jobs 1 > "$TMP/o1" 2>&1 &
pid=$!
for i in $(seq 1 300); do [ -f "$D/cells/cell-0000.csv" ] && break; sleep 0.1; done
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.5   # the running cell gets SIGTERM from the kernel when its parent dies
[ -f "$D/cells/cell-0000.csv" ] && ok "first cell finished before the kill" || bad "no finished cell before the kill: $(cat "$TMP/o1")"
n_before=$(ls "$D/cells/" | grep -c '\.csv$')
[ "$n_before" -lt 4 ] && ok "the kill stopped the sweep ($n_before of 4 finished)" || bad "all cells finished before the kill"
ls "$D/cells" | grep -q tmp && bad "a partial result file was left: $(ls "$D/cells")" || ok "no partial result files"
sum0=$(cksum < "$D/cells/cell-0000.csv")
starts0=$(grep -c '^cell 0:' "$D/cells/cell-0000.log")

$RM sweep "$D" $GRID > "$TMP/o2" 2>&1; st=$?
[ $st -eq 0 ] && grep -q "4 of 4 cells finished ($((4 - n_before)) now)" "$TMP/o2" && ok "resume finishes the grid" \
    || bad "resume (exit $st): $(cat "$TMP/o2")"
grep -q "($n_before finished before, $((4 - n_before)) to run" "$TMP/o2" && ok "resume runs only the unfinished cells" || bad "resume plan: $(head -1 "$TMP/o2")"
[ "$(cksum < "$D/cells/cell-0000.csv")" = "$sum0" ] && [ "$(grep -c '^cell 0:' "$D/cells/cell-0000.log")" = "$starts0" ] \
    && ok "the finished cell was not rerun" || bad "cell 0 was rerun"
[ "$(grep -c . "$D/results.csv")" = 5 ] && head -1 "$D/results.csv" | grep -q '^cell,act,hidden,lr,seed,quant' \
    && ok "results.csv has the header and 4 rows" || bad "results.csv: $(cat "$D/results.csv")"
for c in 0 1 2 3; do
    grep -q "^$c,relu," "$D/results.csv" || bad "cell $c missing from results.csv"
done
awk -F, 'NR>1 && ($11 < 0.05 || $11 > 1) {bad=1} END {exit bad}' "$D/results.csv" && ok "test accuracies are real numbers" \
    || bad "odd accuracies: $(cat "$D/results.csv")"
grep -q "^1,relu,8,0.003," "$D/results.csv" && grep -q "^2,relu,16,0.001," "$D/results.csv" && ok "cells are hidden x lr, lr fastest" \
    || bad "cell order: $(cat "$D/results.csv")"
grep -Eq '^ +3  relu +16 +0.003' "$TMP/o2" && ok "table row printed" || bad "table: $(cat "$TMP/o2")"

$RM sweep "$D" > "$TMP/o3" 2>&1; st=$?
[ $st -eq 0 ] && grep -q "(4 finished before, 0 to run" "$TMP/o3" && ok "a finished sweep reruns nothing (grid from sweep.cfg)" \
    || bad "second resume (exit $st): $(cat "$TMP/o3")"
$RM sweep "$D" --hidden 8,32 --epochs 1 > "$TMP/o4" 2>&1; st=$?
[ $st -ne 0 ] && grep -q "holds a different sweep" "$TMP/o4" && ok "a different grid in the same directory is refused" \
    || bad "different grid (exit $st): $(cat "$TMP/o4")"
$RM sweep "$TMP/x" --act relu,tanh > "$TMP/o5" 2>&1; st=$?
[ $st -ne 0 ] && [ "$(grep -c . "$TMP/o5")" = 1 ] && grep -q "act: unknown activation 'tanh'" "$TMP/o5" && ok "bad axis value: one line" \
    || bad "bad axis value (exit $st): $(cat "$TMP/o5")"

# a failing cell is reported with its reason and the sweep exits non-zero
$RM sweep "$TMP/f" --dataset mnist --data "$DATA" --epochs 1 > "$TMP/o9" 2>&1; st=$?
[ $st -eq 1 ] && grep -q "cell 0 failed (exit status 1): .*MNIST directory" "$TMP/o9" && ok "a failed cell says why" \
    || bad "failed cell (exit $st): $(cat "$TMP/o9")"

# the prompt's command and Lua read the same sweep
$RM -e "sweep $D quiet=true" > "$TMP/o6" 2>&1 && ok "sweep command" || bad "sweep command: $(cat "$TMP/o6")"
$RM -e "local r = resmlp.sweep{dir='$D', quiet=true}
assert(r.complete and r.cells == 4 and #r.rows == 4, 'sweep table')
assert(r.rows[4].hidden == 16 and math.abs(r.rows[4].lr - 3e-3) < 1e-12 and r.rows[4].test_acc > 0)
print('lua ok', r.rows[1].test_acc)" > "$TMP/o7" 2>&1 && grep -q "lua ok" "$TMP/o7" && ok "resmlp.sweep{} returns the rows" \
    || bad "Lua: $(cat "$TMP/o7")"

# a quantised cell: INT8 PTQ, integer engine accuracy
$RM sweep "$TMP/q" --hidden 8 --quant ptq --epochs 1 --limit 384 --test-limit 200 --calib 200 --batch 64 --aug none \
    --data "$DATA" > "$TMP/o8" 2>&1; st=$?
q=$(awk -F, 'NR==2 {print $13}' "$TMP/q/results.csv" 2>/dev/null)
[ $st -eq 0 ] && awk "BEGIN {exit !($q > 0.05 && $q <= 1)}" && ok "quant=ptq cell reports int8 accuracy $q" \
    || bad "quant cell (exit $st): $(cat "$TMP/o8")"

echo "$fails failed"
[ $fails -eq 0 ]
