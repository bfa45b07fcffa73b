#!/bin/sh
# e2e_cli.sh - the non-interactive `resmlp train|eval|info`: usage errors are one line with exit 2,
# Ctrl-C (SIGINT) mid-epoch stops after the current batch and saves a loadable checkpoint, a training
# blow-up stops with a message and still saves the restored weights, corrupt checkpoints are refused
# with a one-line error naming the file, and a crash never leaves a partial file behind.
cd "$(dirname "$0")/.." || exit 1
RM=./resmlp
TMP=$(mktemp -d /tmp/resmlp-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
lines() { wc -l < "$1" | tr -d ' '; }

$RM train --hidden lots > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 2 ] && [ "$(lines "$TMP/e")" = 1 ] && grep -q "bad value 'lots' for --hidden" "$TMP/e" && ok "bad value: one line, exit 2" || bad "bad value (exit $st): $(cat "$TMP/e")"
$RM eval > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 2 ] && grep -q "missing MODEL" "$TMP/e" && ok "eval without MODEL: exit 2" || bad "eval without MODEL (exit $st)"
$RM train --help > "$TMP/o" 2>&1 && grep -q -- "--hidden" "$TMP/o" && ok "train --help" || bad "train --help"

# Ctrl-C mid-epoch: the checkpoint is saved and loads
RESMLP_THREADS=2 $RM train --hidden 24 --epochs 50 --limit 4096 --batch 64 --out "$TMP/int.safetensors" > "$TMP/o" 2> "$TMP/e" &
pid=$!
for i in $(seq 1 150); do grep -q "step" "$TMP/o" 2>/dev/null && break; sleep 0.2; done
sleep 1
kill -INT $pid
wait $pid; st=$?
[ $st -eq 0 ] && grep -q "interrupted after" "$TMP/o" && ok "SIGINT stops training (exit 0)" || bad "SIGINT (exit $st): $(tail -2 "$TMP/o") $(cat "$TMP/e")"
$RM info "$TMP/int.safetensors" > "$TMP/o2" 2>&1 && grep -q "hidden=24" "$TMP/o2" && ok "interrupted checkpoint loads" || bad "interrupted checkpoint: $(cat "$TMP/o2")"
$RM eval "$TMP/int.safetensors" > "$TMP/o2" 2>&1 && grep -q "accuracy" "$TMP/o2" && ok "interrupted model evaluates" || bad "eval after interrupt"
ls "$TMP" | grep -q "tmp" && bad "temporary files left behind: $(ls "$TMP")" || ok "no temporary files left"

# --resume continues a plain run from the per-epoch checkpoint in --out
$RM train --hidden 16 --epochs 1 --limit 512 --batch 64 --out "$TMP/r.safetensors" > "$TMP/o" 2> "$TMP/e"
$RM train --hidden 16 --epochs 2 --limit 512 --batch 64 --out "$TMP/r.safetensors" --resume > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 0 ] && grep -q "resuming .* at epoch 2 of 2" "$TMP/o" && grep -q "epoch 2/2" "$TMP/o" && ! grep -q "epoch 1/2" "$TMP/o" \
    && ok "--resume continues at the next epoch" || bad "--resume (exit $st): $(cat "$TMP/o" "$TMP/e" | tail -3)"
# the checkpoint holds the weights only (a plain load_state_dict takes it); the optimiser state is in
# the sibling r.optim.safetensors, and resuming from the pair is bit-identical to an uninterrupted run
! grep -aq '"optim\.' "$TMP/r.safetensors" && grep -aq '"optim\.m\.classifier\.weight"' "$TMP/r.optim.safetensors" \
    && ok "save: weights only, optimiser state in OUT.optim.safetensors" || bad "weights/optimiser split: $(ls "$TMP")"
$RM train --hidden 16 --epochs 2 --limit 512 --batch 64 --out "$TMP/u.safetensors" > "$TMP/o" 2> "$TMP/e"
cmp -s "$TMP/u.safetensors" "$TMP/r.safetensors" && ok "resume from weights + sibling is bit-identical" || bad "resumed run differs from an uninterrupted one"
$RM train --hidden 16 --epochs 1 --limit 512 --batch 64 --out "$TMP/w.safetensors" --with-optimizer > "$TMP/o" 2> "$TMP/e"
$RM train --hidden 16 --epochs 2 --limit 512 --batch 64 --out "$TMP/w.safetensors" --with-optimizer --resume > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 0 ] && grep -aq '"optim\.v\.classifier\.weight"' "$TMP/w.safetensors" && [ ! -e "$TMP/w.optim.safetensors" ] \
    && ok "--with-optimizer: one file, resumable" || bad "--with-optimizer (exit $st): $(cat "$TMP/e")"
echo junk > "$TMP/r.optim.safetensors"
$RM train --hidden 16 --epochs 3 --limit 512 --batch 64 --out "$TMP/r.safetensors" --resume > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -ne 0 ] && grep -q "r.optim.safetensors" "$TMP/e" && ok "a broken sibling stops resume with its name" || bad "broken sibling (exit $st): $(cat "$TMP/e")"
# the paper's recipe from the CLI: KT per block then KD; stopped with SIGINT, then resumed to the end
T24=tests/fixtures/resmlp_relu_h24.safetensors
RESMLP_THREADS=1 $RM train --act lerp_psa --hidden 16 --teacher $T24 --kt-epochs 1 --kd-epochs 6 --limit 512 --batch 64 \
    --out "$TMP/s.safetensors" > "$TMP/o" 2> "$TMP/e" &
pid=$!
for i in $(seq 1 300); do grep -q "train epoch 1/6" "$TMP/o" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; wait $pid; st=$?
grep -q "kt epoch 1/1" "$TMP/o" && grep -q "resume with --resume" "$TMP/o" && [ -s "$TMP/s.interrupted.safetensors" ] \
    && ok "recipe: KT then KD, SIGINT keeps the resume point (exit $st)" || bad "recipe SIGINT (exit $st): $(tail -3 "$TMP/o") $(cat "$TMP/e")"
RESMLP_THREADS=1 $RM train --act lerp_psa --hidden 16 --teacher $T24 --kt-epochs 1 --kd-epochs 6 --limit 512 --batch 64 \
    --out "$TMP/s.safetensors" --resume > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 0 ] && grep -q "epoch 6/6" "$TMP/o" && ! grep -q "kt epoch" "$TMP/o" && grep -q "saved .*KD 6 epochs" "$TMP/o" \
    && ok "recipe --resume finishes KD without redoing KT" || bad "recipe resume (exit $st): $(tail -3 "$TMP/o") $(cat "$TMP/e")"
$RM train --act lerp_psa --kt-epochs 1 --out "$TMP/z.safetensors" --limit 512 > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 1 ] && grep -q "need --teacher" "$TMP/e" && ok "recipe without a teacher: one-line error" || bad "recipe without teacher (exit $st): $(cat "$TMP/e")"

# a learning rate that makes the loss blow up: stops with a message, saves the restored weights
$RM train --hidden 24 --epochs 1 --limit 1024 --batch 64 --lr 1e30 --lr-min 1e30 --out "$TMP/nan.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 1 ] && [ "$(lines "$TMP/e")" = 1 ] && grep -q "restored" "$TMP/e" && ok "blow-up: one-line error, exit 1" || bad "blow-up (exit $st): $(cat "$TMP/e")"
$RM eval "$TMP/nan.safetensors" > "$TMP/o2" 2>&1 && grep -q "accuracy" "$TMP/o2" && ok "restored model saved and evaluates" || bad "restored model: $(cat "$TMP/o2")"

# --precision: bf16 trains (falls back to fp32 with a notice on a path without bf16 units), the
# checkpoint is fp32 and evaluates in either precision; info names the matmul path
$RM train --precision fp16 --out "$TMP/p.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 2 ] && [ "$(lines "$TMP/e")" = 1 ] && grep -q "unknown precision 'fp16'" "$TMP/e" && ok "--precision fp16: one-line error, exit 2" || bad "--precision fp16 (exit $st): $(cat "$TMP/e")"
$RM train --hidden 16 --epochs 1 --limit 512 --batch 64 --precision bf16 --out "$TMP/bf.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 0 ] && grep -q "precision bf16\|has no bf16 units" "$TMP/o" "$TMP/e" && ok "train --precision bf16" || bad "train bf16 (exit $st): $(cat "$TMP/o" "$TMP/e" | tail -3)"
$RM eval "$TMP/bf.safetensors" --precision fp32 > "$TMP/o2" 2>&1 && grep -q "accuracy" "$TMP/o2" && ok "bf16-trained checkpoint evaluates in fp32" || bad "bf16 checkpoint eval: $(cat "$TMP/o2")"
RESMLP_ISA=avx2 $RM train --hidden 16 --epochs 1 --limit 256 --batch 64 --precision bf16 --out "$TMP/bf2.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 0 ] && grep -q "has no bf16 units.*using fp32" "$TMP/e" && grep -q "on avx2, precision fp32" "$TMP/o" && ok "RESMLP_ISA=avx2: bf16 falls back to fp32 with a notice" || bad "avx2 fallback (exit $st): $(cat "$TMP/o" "$TMP/e" | tail -3)"
RESMLP_ISA=openblas $RM info "$TMP/bf.safetensors" > "$TMP/o2" 2>&1 && grep -q "matmul: OpenBLAS" "$TMP/o2" && ok "info shows the matmul path (openblas forced)" || bad "info matmul line: $(cat "$TMP/o2")"

# corrupt checkpoints: one line naming the file, exit 1
head -c 100 "$TMP/int.safetensors" > "$TMP/trunc.safetensors"
$RM eval "$TMP/trunc.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 1 ] && [ "$(lines "$TMP/e")" = 1 ] && grep -q "trunc.safetensors" "$TMP/e" && ok "truncated checkpoint refused" || bad "truncated (exit $st): $(cat "$TMP/e")"
$RM info /nonexistent/x.safetensors > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 1 ] && grep -q "/nonexistent/x.safetensors" "$TMP/e" && ok "missing checkpoint refused" || bad "missing (exit $st): $(cat "$TMP/e")"
$RM train --data /nonexistent-dir --epochs 1 --out "$TMP/x.safetensors" > "$TMP/o" 2> "$TMP/e"; st=$?
[ $st -eq 1 ] && grep -q "/nonexistent-dir" "$TMP/e" && [ ! -e "$TMP/x.safetensors" ] && ok "missing data directory: error, no file" || bad "missing data (exit $st): $(cat "$TMP/e")"

echo "e2e_cli: $fails failed"
[ $fails -eq 0 ]
