#!/bin/sh
# e2e_hls.sh - the hardware commands end to end, with the stand-in vendor tools of tests/fake_tools:
# `hls emit` (PTQ on the fly with qsave=, again from the saved file with qfile=, and from the current
# quantized model of the workspace after `quantize`),
# `hls csim` bit-exact, `synth` with the fake vitis_hls on PATH (log with elapsed time, then the
# report table), `report` (text and Lua table), `hls estimate` of a project and of a model (the
# paper's 12,352 cycles for ReLU h=192), `hls fold` writing hls_parallelism.h (csim still bit-exact),
# and the failures: no tool (one line), a failing / killed tool (message + log tail), no report,
# Ctrl-C during synthesis (the tool is stopped, the Lua code after it keeps running), emit without a
# quantized network (one line).
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
RM="$ROOT/resmlp"
DATA="$ROOT/../shared/data/cifar-10-batches-bin"
FAKE="$ROOT/tests/fake_tools"
[ -x "$RM" ] || { echo "FAIL: ./resmlp not built"; exit 1; }
command -v tclsh >/dev/null 2>&1 || { echo "SKIP: tclsh not installed (the fake tools need it)"; exit 0; }
export RESMLP_THREADS=${RESMLP_THREADS:-1} NO_COLOR=1
unset XILINX_HLS XILINX_VIVADO RESMLP_FAKE_HLS
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
D="$TMP/prj"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); for f in out err; do [ -s "$TMP/$f" ] && sed 's/^/     | /' "$TMP/$f" | tail -n 15; done; }
# expect NAME STATUS CMD...: CMD exits with STATUS (stdout in $TMP/out, stderr in $TMP/err)
expect() {
    name=$1; want=$2; shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else echo "     exit $got, want $want"; bad "$name"; fi
}
has() { grep -q -F -- "$2" "$TMP/$1" && ok "$3" || bad "$3"; }
# one_line NAME WANT: stderr is exactly one line holding WANT
one_line() { [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q -F -- "$2" "$TMP/err" && ok "$1: one line" || bad "$1: one line with '$2'"; }

# ---- emit with PTQ on the fly (and keep the quantized model), then C simulation
expect "hls emit ptq=true" 0 "$RM" -e "data cifar10 $DATA limit=500 test_limit=4" \
    -e "load tests/fixtures/resmlp_lerp_h16.safetensors" -e "hls emit $D ptq=true samples=4 qsave=$TMP/q.safetensors"
has out "PTQ on 500 images of train" "emit: PTQ reported"
has out "emitted $D: 12 files, 4 sample images" "emit: summary line"
has out "interval 6240 cycles (32051 images/s)" "emit: estimate at the paper's point"
for f in quant_params.h lerp_psa_params.h quant_samples.h hls_parallelism.h resmlp.cpp resmlp_tb.cpp build.tcl README.md; do
    [ -s "$D/$f" ] || { echo "     missing $D/$f"; bad "emit wrote $f"; }
done
[ -s "$TMP/q.safetensors" ] && ok "qsave= wrote the quantized model" || bad "qsave= wrote the quantized model"
grep -q "^/\* embed_linear_w: int8 \[96\]\[48\] (out x in), min -\?[0-9]*, max [0-9]*, zeros [0-9]* of 4608; model $TMP/q.safetensors \*/" \
    "$D/quant_params.h" && ok "quant_params.h: shape/min/max/zeros/model comment" || bad "quant_params.h comment"
expect "hls csim" 0 "$RM" -e "hls csim $D"
has out "RESULT samples=4 checked=221344 mismatches=0" "csim: testbench result"
has out "221344 values of 4 samples bit-exact with the integer engine" "csim: summary"
has out "b0_skip " "csim: FIFO occupancy report"

# ---- fifo=auto: the concurrent csim's occupancies become the depths, and csim passes with them
expect "hls emit fifo=auto" 0 "$RM" -e "data cifar10 $DATA split=test test_limit=2" \
    -e "hls emit $TMP/fa qfile=$TMP/q.safetensors samples=2 fifo=auto"
has out "fifo=auto: " "fifo=auto: summary"
has out "the concurrent csim passes with them" "fifo=auto: verified"
grep -q "measured" "$TMP/fa/hls_fifo.h" && ok "hls_fifo.h marks measured depths" || bad "hls_fifo.h marks measured depths"

# ---- emit again from the saved quantized model file, relative directory, Lua result table
(cd "$TMP" && "$RM" -e "data cifar10 $DATA split=test test_limit=2" \
    -e "r = resmlp.hls('emit', 'rel', {qfile='q.safetensors', samples=2, quiet=true}); print('files', #r.files, r.estimate.ii, r.samples)") \
    > "$TMP/out" 2> "$TMP/err" && ok "hls emit qfile= from Lua" || bad "hls emit qfile= from Lua"
has out "files	12	6240	2" "emit: Lua table"
grep -q "samples_input\[2\]\[64\]\[48\]" "$TMP/rel/quant_samples.h" && ok "qfile= project has 2 samples" || bad "qfile= project"
cmp -s "$TMP/rel/quant_params.h" "$D/quant_params.h" && bad "the model file name is in the comments" || ok "qfile= names its file"
sed "s|$TMP/q.safetensors|q.safetensors|" "$D/quant_params.h" | cmp -s - "$TMP/rel/quant_params.h" \
    && ok "qfile= emits the same parameters as the PTQ run that saved it" || bad "qfile= emits the same parameters"

# ---- the current quantized model of the workspace (`quantize`), ReLU
expect "quantize, then hls emit (current quantized model)" 0 "$RM" -e "data cifar10 $DATA limit=500 test_limit=2" \
    -e "load tests/fixtures/resmlp_relu_h24.safetensors" -e "quantize name=rq quiet=true" -e "hls emit $TMP/relu samples=2"
has out "emitted $TMP/relu: 11 files" "relu: no table header"
grep -q "generated by resmlp from quantized model rq" "$TMP/relu/quant_params.h" && ok "relu: source in the comments" \
    || bad "relu: source in the comments"

# ---- synth with the stand-in vitis_hls on PATH, then report
expect "synth (fake vitis_hls on PATH)" 0 env PATH="$FAKE:$PATH" "$RM" -e "synth $D"
has out "(vitis_hls, found by PATH), steps: csim csynth" "synth: tool and steps"
has out "s] INFO: [HLS 200-1510] Running: csynth_design" "synth: log lines with elapsed time"
has out "DSP             1114" "synth: report table DSP"
has out "LUT           141873" "synth: report table LUT"
expect "report DIR" 0 "$RM" -e "report $D"
has out "interval  min 6240, max 6240 cycles" "report: interval"
has out "LUT           141873" "report: LUT"
expect "report from Lua" 0 "$RM" -e "r = resmlp.report('$D', {quiet=true}); print('lut', r.lut, 'dsp', r.dsp, 'ii', r.interval_min, 'loops', #r.loops)"
has out "lut	141873	dsp	1114	ii	6240	loops	4" "report: Lua table"

# ---- failures
expect "synth without a tool" 1 env PATH=/usr/bin:/bin "$RM" -e "synth $D"
one_line "no tool" "no HLS tool found"
expect "synth with a failing tool" 1 env RESMLP_FAKE_HLS=fail "$RM" -e "synth $D tool=$FAKE/vitis_hls quiet=true"
has err "synthesis failed: vitis_hls exited with status 1" "failing tool: message"
has err "  | ERROR: [HLS 207-3776] fake failure requested" "failing tool: log tail"
expect "synth with a killed tool" 1 env RESMLP_FAKE_HLS=kill "$RM" -e "synth $D tool=$FAKE/vivado_hls quiet=true"
has err "killed by signal 9 (SIGKILL)" "killed tool: message"
has err "  | INFO: [HLS 200-10] Memory usage growing" "killed tool: log tail"
expect "synth writing no report" 1 env RESMLP_FAKE_HLS=noreport "$RM" -e "synth $D tool=$FAKE/vitis-run quiet=true"
has err "finished but wrote no report" "no report: message"
expect "synth steps=csim (no report expected)" 0 "$RM" -e "synth $D tool=$FAKE/vitis_hls steps=csim"
has out "no synthesis step, so no report" "steps=csim"
expect "synth with an unknown step" 1 "$RM" -e "synth $D tool=$FAKE/vitis_hls steps=csim,place"
one_line "unknown step" "unknown step 'place'"
# ---- hls rtl / hls yosys: Verilog of the learned activations, simulated against the engine's tables
expect "hls rtl" 0 "$RM" -e "hls rtl $TMP/rtl qfile=$TMP/q.safetensors"
has out "wrote 8 Verilog units to $TMP/rtl" "rtl: units written"
has out "psa_b3_1   block 3 act2,  16 channels: 4096 outputs (all 256 inputs of every channel) equal to the integer engine's tables" "rtl: last unit simulated"
expect "hls yosys without Yosys on PATH" 1 env PATH=/nonexistent "$RM" -e "hls yosys $TMP/rtl"
one_line "yosys absent" "Yosys is not installed (yosys not on PATH; Debian: apt-get install yosys)"
expect "hls yosys on a directory without units" 1 "$RM" -e "hls yosys $TMP"
one_line "yosys without units" "holds no RTL units"
expect "hls estimate design=simd" 0 "$RM" -e "model new act=relu hidden=192" -e "hls estimate design=simd"
has out "latency 47643 cycles" "simd estimate: ReLU h=192 (paper 47,681)"
has out "K*ceil(N/16)*ceil(O/16)" "simd estimate: formula terms"

expect "emit without a quantized network" 1 "$RM" -e "hls emit $TMP/none"
one_line "emit without a network" "emit needs a quantized network"

# ---- Ctrl-C during synthesis: the tool stops, the Lua after it runs
RESMLP_FAKE_HLS=hang "$RM" -e "ok, err = pcall(resmlp.synth, '$D', {tool='$FAKE/vitis_hls'}); print('after', ok, err)" \
    > "$TMP/out" 2> "$TMP/err" &
pid=$!
i=0
while ! grep -q "hanging" "$TMP/out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT $pid
wait $pid
has out "after	false	synth: synthesis stopped: interrupted" "Ctrl-C stops the tool, Lua continues"

# ---- estimates and folding
expect "hls estimate DIR" 0 "$RM" -e "hls estimate $D"
has out "interval 6240 cycles" "estimate of the project"
expect "hls estimate model (ReLU h=192)" 0 "$RM" -e "model new act=relu hidden=192" -e "hls estimate"
has out "interval 12352 cycles" "estimate: the paper's 12,352 cycles"
has out "embed_linear                     matmul   64   48   96    1   48     6208     1956     3312     48      0  analytic" \
    "estimate: every stage analytic without calibration"
if command -v yosys > /dev/null; then   # one Yosys run, 8-10 s of CPU
    expect "hls estimate calibrate=yosys" 0 "$RM" -e "model new act=lerp_psa hidden=96" -e "hls estimate calibrate=yosys"
    for pe in pe_simd4/16 pe_affine pe_resadd pe_lerp pe_pool; do has out "  yosys $pe" "calibrated stage from $pe"; done
    has out "pool   pe_pool   (sum of 64 int8 tokens per channel, 14-bit accumulators" "calibrate: the pool PE's widths"
    grep -q "analytic$" "$TMP/out" && bad "calibrate: a stage left analytic" || ok "calibrate: no stage left analytic"
else
    echo "SKIP: hls estimate calibrate=yosys: Yosys not installed (apt-get install yosys)"
fi
expect "hls fold" 0 "$RM" -e "hls fold $D budget=lut:60k,dsp:500"
has out "fold: " "fold: what stopped it"
has out "wrote $D/hls_parallelism.h" "fold: written"
grep -q "SIMD 16$\|_SIMD 16" "$D/hls_parallelism.h" && ok "fold changed the parallelism" || bad "fold changed the parallelism"
expect "hls csim after fold" 0 env RESMLP_CSIM_FLAGS=-O1 "$RM" -e "hls csim $D"
has out "mismatches=0" "csim after fold: bit-exact"
expect "hls estimate after fold" 0 "$RM" -e "r = resmlp.hls('estimate', '$D', {quiet=true}); print('dsp', r.dsp <= 500, 'stages', #r.stages)"
has out "dsp	true	stages	39" "estimate reads the folded project"

[ $fails -eq 0 ] && echo "e2e_hls: all passed" || echo "e2e_hls: $fails failed"
[ $fails -eq 0 ]
