#!/bin/sh
# lut_edge_trained.sh - the lut_edge modes (core/lut.h) on a TRAINED LERP-PSA ResMLP (issue 13): train
# a small (h=96 by default) student on the first N CIFAR-10 training images for E epochs, quantize it (PTQ, 64-entry
# tables) once per lut_edge mode, and `verify` each on the 1,000 test images: integer accuracy and the
# code error of every mode against the 256-entry tables on the network's real activations
# (stats=1000: every table read of all 1,000 test images). Minutes on 2 cores.
# Usage: [H=96] [SEED=1] sh bench/lut_edge_trained.sh [N=20000] [E=3] [threads=2]   (H: hidden width)
cd "$(dirname "$0")/.." || exit 1
N=${1:-20000}; E=${2:-3}; T=${3:-2}; H=${H:-96}; SEED=${SEED:-1}
D=${CIFAR:-/work/shared/data/cifar-10-batches-bin}
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  h=$H seed=$SEED, $N training images, $E epochs, $T threads, $(git rev-parse --short HEAD 2>/dev/null)"
RESMLP_THREADS=$T ./resmlp <<CMDS
data cifar10 $D
model new act=lerp_psa hidden=$H name=s
train epochs=$E limit=$N test=test seed=$SEED
eval test
quantize calib=2000 lut=64 lut_edge=extend name=q_extend
quantize calib=2000 lut=64 lut_edge=paper_hls name=q_paper_hls
quantize calib=2000 lut=64 lut_edge=clamp name=q_clamp
verify qmodel=q_extend test stats=1000
verify qmodel=q_paper_hls test stats=1000
verify qmodel=q_clamp test stats=1000
CMDS
