#!/bin/sh
# run_all.sh - the side-by-side training/eval benchmark: resmlp (bench_train) and the same models in
# PyTorch (torch_bench.py, Debian's python3-torch) on this machine, same thread count, fp32 and bf16 (resmlp's
# precision=bf16, PyTorch's CPU autocast) one after the
# other. Run on an otherwise idle machine: `make all && sh bench/run_all.sh [threads]`.
# Prints the figures; paste them into bench/RESULTS.md with the date and `nproc`.
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores, $T threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
RESMLP_THREADS=$T ./build/bench/bench_train 3840
RESMLP_THREADS=$T ./build/bench/bench_train 3840 --precision bf16
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    for p in fp32 bf16; do
        /usr/bin/python3 bench/torch_bench.py --threads "$T" --steps 12 --precision $p --models relu384,relu96,lerp96,bspline96
    done
else
    echo "torch: python3-torch not installed (apt-get install python3-torch) - PyTorch side skipped"
fi
