#!/bin/sh
# fake_hls.sh - stand-in for Vitis HLS / Vivado HLS in tests (never a real synthesis).
# Called by the wrappers vitis_hls, vitis-run and vivado_hls in this directory as
#   fake_hls.sh <tool-name> <the tool's own arguments...>
# It checks the arguments the way the real tool takes them (vitis_hls -f X.tcl,
# vitis-run --mode hls --tcl X.tcl, vivado_hls -f X.tcl), then runs the script under tclsh with
# stub HLS commands (fake_hls.tcl): the script must parse and run, and must contain open_project,
# set_top, add_files, open_solution, set_part, create_clock and csynth_design. When csynth_design
# ran, it writes the fixture report to <project>/<solution>/syn/report/<top>_csynth.xml (vivado_hls:
# the older DSP48E fixture; the others: the Vitis fixture and its module reports).
# RESMLP_FAKE_HLS picks a behaviour: ok (default), fail (exit 1 after an ERROR line), kill (the tool
# dies by SIGKILL, as under the OOM killer), hang (sleeps until stopped), hang_noterm (ignores
# SIGTERM too), noreport (exit 0 without a report).
tool=$1; shift
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
fix=$here/../fixtures/hls
case "$tool" in
    vitis_hls|vivado_hls)
        [ $# -eq 2 ] && [ "$1" = "-f" ] || { echo "ERROR: fake $tool: expected '-f <script>.tcl', got: $*"; exit 2; }
        tcl=$2 ;;
    vitis-run)
        [ $# -eq 4 ] && [ "$1" = "--mode" ] && [ "$2" = "hls" ] && [ "$3" = "--tcl" ] || {
            echo "ERROR: fake vitis-run: expected '--mode hls --tcl <script>.tcl', got: $*"; exit 2; }
        tcl=$4 ;;
    *) echo "ERROR: fake_hls.sh: unknown tool '$tool'"; exit 2 ;;
esac
case "$tcl" in *.tcl) ;; *) echo "ERROR: fake $tool: '$tcl' is not a .tcl file"; exit 2 ;; esac
[ -r "$tcl" ] || { echo "ERROR: fake $tool: cannot read $tcl in $(pwd)"; exit 2; }
command -v tclsh >/dev/null 2>&1 || { echo "ERROR: fake $tool: tclsh is not installed"; exit 2; }

echo "****** $tool (fake for resmlp tests) v2023.1"
echo "INFO: [HLS 200-10] Running '$tool' in $(pwd)"
echo "INFO: [HLS 200-10] Sourcing Tcl script '$tcl'"
variant=${RESMLP_FAKE_HLS:-ok}
case "$variant" in
    fail)
        echo "INFO: [HLS 200-10] Analyzing design file 'kernel.cpp' ..."
        echo "ERROR: [HLS 207-3776] fake failure requested by RESMLP_FAKE_HLS=fail"
        echo "INFO: [HLS 200-111] Finished Command csynth_design CPU user time: 0.1 seconds"
        exit 1 ;;
    kill)
        echo "INFO: [HLS 200-10] Starting code transformations ..."
        echo "INFO: [HLS 200-10] Memory usage growing (fake, RESMLP_FAKE_HLS=kill)"
        kill -9 $$ ;;
    hang)
        echo "INFO: [HLS 200-10] Starting hardware synthesis ... hanging (RESMLP_FAKE_HLS=hang)"
        while :; do sleep 1; done ;;
    hang_noterm)
        trap '' TERM
        echo "INFO: [HLS 200-10] Starting hardware synthesis ... hanging, ignoring SIGTERM (RESMLP_FAKE_HLS=hang_noterm)"
        while :; do sleep 1; done ;;
    ok|noreport) ;;
    *) echo "ERROR: fake $tool: unknown RESMLP_FAKE_HLS=$variant"; exit 2 ;;
esac
if [ "$tool" = vivado_hls ]; then top_fix=$fix/top_csynth_vivado.xml; mods=""; else
    top_fix=$fix/top_csynth.xml; mods=$fix/modules; fi
[ "$variant" = noreport ] && top_fix=""
exec tclsh "$here/fake_hls.tcl" "$tool" "$tcl" "$top_fix" "$mods"
