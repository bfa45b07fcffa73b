#!/bin/sh
# e2e_prune_hls.sh - a SIMD-block pruned ResMLP through the hardware path: prune (masks), save and load
# (masks kept), `hls estimate model=` (fewer DSPs at the paper's point), `hls emit ptq=true` (the pruned
# blocks are int8 zeros in quant_params.h) and `hls csim` still bit-exact with the integer engine.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
RM="$ROOT/resmlp"
DATA="$ROOT/../shared/data/cifar-10-batches-bin"
[ -x "$RM" ] || { echo "FAIL: ./resmlp not built"; exit 1; }
command -v g++ >/dev/null 2>&1 || { echo "SKIP: g++ not installed (hls csim needs it)"; exit 0; }
export RESMLP_THREADS=${RESMLP_THREADS:-1} NO_COLOR=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
D="$TMP/prj"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); for f in out err; do [ -s "$TMP/$f" ] && sed 's/^/     | /' "$TMP/$f" | tail -n 15; done; }
expect() {
    name=$1; want=$2; shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else echo "     exit $got, want $want"; bad "$name"; fi
}
has() { grep -q -F -- "$2" "$TMP/$1" && ok "$3" || bad "$3"; }

expect "prune and save" 0 "$RM" -e "data cifar10 $DATA limit=500 test_limit=4" \
    -e "load m tests/fixtures/resmlp_lerp_h16.safetensors" -e "prune sparsity=0.5 inplace=true" -e "save $TMP/p.safetensors"
has out "hls estimate (paper design point, SIMD = IN)" "prune: HLS estimate with and without masks"
expect "estimate of the loaded pruned model" 0 "$RM" -e "load p $TMP/p.safetensors" -e "hls estimate model=p" \
    -e "load f tests/fixtures/resmlp_lerp_h16.safetensors" -e "x = resmlp.hls{'estimate', model='f', quiet=true}" \
    -e "y = resmlp.hls{'estimate', model='p', quiet=true}" -e "print('dsp', x.dsp, y.dsp, y.dsp < x.dsp)"
has out "true" "loaded masks: fewer DSPs in hls estimate"
expect "hls emit of the pruned model" 0 "$RM" -e "data cifar10 $DATA limit=500 test_limit=4" \
    -e "load p $TMP/p.safetensors" -e "hls emit $D ptq=true samples=4"
z=$(sed -n 's/^\/\* blocks_0_mlp_linear_1_w: int8 \[16\]\[96\] (out x in), min -\?[0-9]*, max [0-9]*, zeros \([0-9]*\) of 1536.*/\1/p' "$D/quant_params.h")
[ -n "$z" ] && [ "$z" -ge 768 ] && ok "fc1 of block 0: at least half its int8 weights zero ($z)" || bad "pruned zeros in quant_params.h ($z)"
expect "hls csim of the pruned model" 0 "$RM" -e "hls csim $D"
has out "mismatches=0" "csim bit-exact with the integer engine"
echo "e2e_prune_hls: $fails failed"
[ "$fails" -eq 0 ]
