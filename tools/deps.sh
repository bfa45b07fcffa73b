#!/bin/sh
# deps.sh - install the Debian packages resmlp needs, only those that are missing (chromium: the SVG
# check renders in headless Chromium; slurm-wlm: the sweep backend=slurm test starts its own
# single-node Slurm; nothing is configured system-wide).
# Called by the Makefile (once; it leaves build/.deps behind). Safe to run by hand; with arguments it
# installs just those packages when they are missing (e.g. `sh tools/deps.sh chromium`).
set -e
PKGS="gcc g++ make pkg-config yosys iverilog liblua5.4-dev libreadline-dev libncurses-dev libopenblas-openmp-dev libdnnl-dev libcjson-dev zlib1g-dev libxml2-dev libxml2-utils tmux tcl dataset-fashion-mnist clang afl++ libclang-rt-14-dev valgrind slurm-wlm python3-numpy verilator chromium"
[ -n "$RESMLP_EXTRA_PKGS" ] && PKGS="$PKGS $RESMLP_EXTRA_PKGS"
# `sh tools/deps.sh PKG...`: only these (optional tools such as chromium for tests/e2e_svg_browser.sh)
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" != 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
