#!/bin/sh
# e2e_prune_hls.sh - a SIMD-block pruned ResMLP through the hardware path: prune (masks), save and load
# (masks kept), `hls estimate model=` (fewer DSPs at the paper's point), `hls emit ptq=true` (the pruned
# blocks are int8 zeros in quant_params.h; the integer engine skips them; the design reads only the kept
# blocks: _kb / _wk tables, loops over kept inputs) and `hls csim` still bit-exact with the integer engine,
# also folded (SIMD 16 and 32 < the kept inputs, 32 not dividing them): the pruned stages take half the
# cycles in `hls estimate DIR`, and the csim stays bit-exact. Then a pruned all-integer CNN (MiniMNIST,
# int8 / ternary convs, int3 linear): `hls emit` writes kept-input tables and loops over kept inputs only for
# its pruned layers, and the csim is bit-exact with the net integer engine (which skips them too). Both
# kinds through qsave and `hls emit qfile=` (masks kept: the same design), design=simd of the pruned ResMLP
# (csim bit-exact, the saved cycles in `hls estimate`), and `hls estimate model=` of the pruned CNN.
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
. tests/lib_e2e.sh   # ok, bad, expect, has

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
grep -q "blocks_0_mlp_linear_1_wk\[16\]\[48\]" "$D/quant_params.h" && grep -q "const uint16_t blocks_0_token_mixer_linear_kb\[2\]" "$D/quant_params.h" \
    && ok "kept-block tables in quant_params.h (fc1: 48 of 96 inputs, token: 2 of 4 blocks)" || bad "kept-block tables"
n=$(grep -c "for (int i = 0; i < [0-9]*; i += BLOCKS_[0-9]_\(TOKEN_MIXER_LINEAR\|MLP_LINEAR_1\)_SIMD)" "$D/resmlp.cpp")
[ "$n" -eq 8 ] && grep -q "xk\[j\] = x\[embed_linear_kb\[j / 16\]" "$D/resmlp.cpp" && ok "resmlp.cpp loops over kept inputs only ($n pruned block loops)" || bad "kept-input loops in resmlp.cpp ($n)"
grep -q "^pruned blocks_0_mlp_linear_1 48" "$D/resmlp_project.txt" && ok "project file records the pruned inputs" || bad "project pruned lines"
expect "hls csim of the pruned model" 0 "$RM" -e "hls csim $D"
has out "mismatches=0" "csim bit-exact with the integer engine"
# qsave / qload keep the masks: emitting from the saved integer model file writes the same kept-block design
expect "hls emit from a qsaved pruned model" 0 "$RM" -e "data cifar10 $DATA limit=500 test_limit=4" \
    -e "load p $TMP/p.safetensors" -e "hls emit $TMP/q1 ptq=true samples=4 qsave=$TMP/pq.safetensors" \
    -e "hls emit $TMP/q2 qfile=$TMP/pq.safetensors samples=4" -e "hls emit $TMP/q3 qfile=$TMP/pq.safetensors samples=4 design=simd"
cmp -s "$TMP/q1/resmlp.cpp" "$TMP/q2/resmlp.cpp" && grep -q "blocks_0_mlp_linear_1_wk\[16\]\[48\]" "$TMP/q2/quant_params.h" \
    && ok "emit from the qsaved file: the same pruned design (kept-block tables, loops)" || bad "emit from the qsaved pruned file"
grep -q "static const uint16_t blocks_0_mlp_linear_1_ki\[48\]" "$TMP/q3/resmlp.cpp" && grep -q "pruning saves" "$TMP/q3/README.md" \
    && ok "design=simd from the qsaved file: kept-input lists, the saved cycles in the README" || bad "design=simd of the pruned file"
expect "design=simd csim of the pruned model" 0 "$RM" -e "hls csim $TMP/q3"
has out "mismatches=0" "design=simd csim of the pruned model bit-exact"
expect "hls estimate design=simd of the pruned project" 0 "$RM" -e "hls estimate $TMP/q3 design=simd"
has out "pruning saves" "design=simd estimate counts the skipped inputs"
sed -i -e 's/^\(#define BLOCKS_[0-9]_TOKEN_MIXER_LINEAR_SIMD\) .*/\1 16/' -e 's/^\(#define BLOCKS_[0-9]_MLP_LINEAR_1_SIMD\) .*/\1 32/' "$D/hls_parallelism.h"
expect "hls estimate of the folded pruned project" 0 "$RM" -e "hls estimate $D"
# token linear: 96 * (64 * ceil(32/16) + 1) = 12384 (dense: 96 * (64 * 4 + 1) = 24672); fc1: 64 * (16 * ceil(48/32) + 1) = 2112
grep -q "blocks_0_token_mixer_linear .* 16 *12384 " "$TMP/out" && grep -q "blocks_0_mlp_linear_1 .* 32 *2112 " "$TMP/out" \
    && ok "estimate: pruned stages take ceil(kept/SIMD) cycles (12384, 2112)" || bad "folded pruned cycles"
expect "hls csim of the folded pruned project" 0 "$RM" -e "hls csim $D"
has out "mismatches=0" "folded csim (SIMD 16, 32) bit-exact with the integer engine"
cat > "$TMP/net.lua" <<EOF
local R = resmlp
local tr, te = R.data("minimnist", "$ROOT/../shared/data/mnist")
local c = R.model{"new", kind = "cnn", conv = "8,16p2", fc = "16", w = "int8,ternary,int3", act = "sign", in_bits = 8, data = tr, name = "c"}
c:train{data = tr, epochs = 1, lr = 0.01, batch = 32, quiet = true, live = false, limit = 1000}
R.prune{model = c, sparsity = 0.5, inplace = true, simd = "3,8,16,16", quiet = true}
R.hls{"emit", "$TMP/net", model = c, ptq = true, samples = 16, data = te}
R.hls{"csim", "$TMP/net"}
local es = R.hls{"estimate", model = c, pe = "2", quiet = true}
print(string.format("net estimate: total %d of %d dense, interval %d of %d", es.total, es.total_dense, es.interval, es.interval_dense))
R.hls{"estimate", model = c, pe = "2"}
local q = R.quantize{model = c, quiet = true}
R.qsave("$TMP/cnet_int.safetensors")
R.hls{"emit", "$TMP/net2", qfile = "$TMP/cnet_int.safetensors", samples = 16, data = te}
R.hls{"csim", "$TMP/net2"}
EOF
expect "pruned integer CNN: emit and csim" 0 "$RM" run "$TMP/net.lua"
has out "mismatches=0" "pruned CNN csim bit-exact with the net integer engine"
n=$(grep -c "SIMD-block pruned" "$TMP/net/net_params.h")
k=$(grep -c "_kc\[t\]" "$TMP/net/resmlp.cpp")
[ "$n" -eq 3 ] && [ "$k" -eq 3 ] && grep -q "s1: SIMD-block pruned, 40 of 72 inputs kept" "$TMP/net/net_params.h" \
    && ok "pruned CNN: 3 layers with kept-input tables and loops (ternary conv: 40 of 72 inputs)" || bad "pruned CNN tables ($n, $k)"
same() { tail -n +2 "$1" > "$TMP/a"; tail -n +2 "$2" > "$TMP/b"; cmp -s "$TMP/a" "$TMP/b"; }   # line 1 names the source
same "$TMP/net/net_params.h" "$TMP/net2/net_params.h" && same "$TMP/net/resmlp.cpp" "$TMP/net2/resmlp.cpp" \
    && ok "pruned CNN qsaved and emitted from the file: the same design" || bad "pruned CNN from its integer model file"
[ "$(grep -c "mismatches=0" "$TMP/out")" -ge 2 ] && ok "both CNN csims bit-exact" || bad "CNN csims"
t=$(sed -n 's/^net estimate: total \([0-9]*\) of \([0-9]*\) dense.*/\1 \2/p' "$TMP/out")
set -- $t
[ -n "$2" ] && [ "$1" -lt "$2" ] && grep -q "net folding estimate" "$TMP/out" && ok "hls estimate of the pruned CNN: $1 of $2 dense cycles" || bad "net estimate ($t)"
echo "e2e_prune_hls: $fails failed"
[ "$fails" -eq 0 ]
