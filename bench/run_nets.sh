#!/bin/sh
# run_nets.sh - layer-list nets side by side (issue 11): resmlp's bench_net (training img/s of the MNIST
# MLP and CNV w1a1/w2a2 in fp32 and in bf16; float forward vs the XNOR-popcount integer engine) and the
# same nets in PyTorch (torch_net_bench.py, Debian's python3-torch, fp32 and bf16 autocast), same thread
# count, one after the other. Run on an otherwise idle machine: `make all && sh bench/run_nets.sh [threads]`.
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores, $T threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
RESMLP_THREADS=$T ./build/bench/bench_net 6400
RESMLP_THREADS=$T ./build/bench/bench_net --precision bf16 --train-only 6400
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 bench/torch_net_bench.py --threads "$T" --steps 20
else
    echo "torch: python3-torch not installed (apt-get install python3-torch) - PyTorch side skipped"
fi
