#!/bin/sh
# e2e_live_net.sh - the live training view with a layer-list net on a real pseudo-terminal (tmux on a
# private socket): a MiniMNIST binary CNN shows the progress bar and a live histogram of a weight layer's
# latent weights, Down moves to the next weight layer, q stops at a safe point and saves the net, which
# loads again (`resmlp info`). Every wait polls the screen with a timeout.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 0; }
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
MNIST="$ROOT/../shared/data/mnist"
[ -d "$MNIST" ] || { echo "SKIP: no MNIST at $MNIST"; exit 0; }
. tests/lib_tmux.sh   # tmux_setup, screen, count, wait_n, wait_all, check, lit, key
tmux_setup livenet
run() { n=$(count 'resmlp> '); lit "$1"; key Enter; wait_n 'resmlp> ' $((n + 1)) "${2:-30}"; }

$T new-session -d -s r -x 150 -y 45 -c "$TMP" "'$ROOT/resmlp'; sleep 60"
wait_n 'resmlp> ' 1 20; check "prompt appears" $?
run "data minimnist $MNIST" 60 && run 'model new kind=cnn conv=16,32p2 fc=32,32 w=int16,binary act=sign_reste in_bits=8'
wait_n "new model 'model'" 1; check "MiniMNIST and a binary CNN" $?
key C-l; sleep 0.3; $T clear-history -t r
lit "train epochs=20 live=on out=$TMP/net.safetensors"; key Enter
wait_all 120 '[#' '%' 'layers.1.weight (conv, int, 144 weights)' 'latent weight' 'up/down weight layer' 'q stop+save'
check "live view: progress bar and the first conv's weight histogram" $?
key Down
wait_all 30 'layers.4.weight (conv, binary, 4608 weights)'; check "Down: the next weight layer (binary conv)" $?
key q
wait_n 'stopped (q) after' 1 120; check "q stops training" $?
wait_n "model saved to $TMP/net.safetensors" 1 10; check "q saves the net to out=" $?
./resmlp info "$TMP/net.safetensors" > "$TMP/info" 2>&1 && grep -q "net input=1x28x28 .*conv(32,pad=1,w=binary)" "$TMP/info" && grep -q "layers.4.weight .*(32, 16, 3, 3)" "$TMP/info"
check "the saved net loads (resmlp info)" $?
run 'print("sane" .. 6*7)'; wait_n 'sane42' 1 10; check "terminal sane after the view" $?
echo "e2e_live_net: $fails failed"
[ $fails -eq 0 ]
