#!/bin/sh
# e2e_live_small.sh - the live training view on an 80x24 terminal (tmux pty): every panel is visible
# (figures, progress bar, the loss/accuracy chart, the activation-curve panel) and the key line is
# whole; keys typed into the view while it cannot read them (a slow on_epoch at the end of training)
# do not leak into the next prompt. Every wait polls capture-pane with a timeout.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 0; }
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
DATA="$ROOT/../shared/data/cifar-10-batches-bin"
. tests/lib_tmux.sh   # tmux_setup, screen, count, wait_n, wait_all, check, lit, key
tmux_setup lives
prompts() { count 'resmlp> '; }
run() { n=$(prompts); lit "$1"; key Enter; wait_n 'resmlp> ' $((n + 1)) "${2:-15}"; }

$T new-session -d -s r -x 80 -y 24 -c "$TMP" "'$ROOT/resmlp'; sleep 60"
wait_n 'resmlp> ' 1 20; check "prompt at 80x24" $?
run "data cifar10 $DATA limit=512 split=train" 60 && run 'model new act=lerp_psa hidden=24'
# one epoch; the slow on_epoch holds the view open after its last key read
$T send-keys -t r C-l; sleep 0.3; n=$(prompts)
lit 'resmlp.train{epochs = 2, batch = 64, live = true, on_epoch = function(s) if s.epoch == 2 then io.open("sleeping", "w"):close(); os.execute("sleep 4") end end}'; key Enter
wait_all 240 'epoch 2/2' '%' 'ETA' 'mlp.0' 'ch 0' 'q stop+save' ' <> block  ^v layer  [] chans  m ' 'loss'
r=$?; sleep 1
[ $r -eq 0 ] && ! screen | grep -q 'charts appear' && screen | grep -q '^\['
check "80x24: figures, progress bar, chart and curve panels, whole key line" $?
i=0; while [ ! -e "$TMP/sleeping" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
key x; key y; key z    # typed while on_epoch sleeps: nothing reads them until the view closes
wait_n 'resmlp> ' $((n + 1)) 60; check "training ends, prompt back" $?
sleep 0.5
last=$(screen | grep 'resmlp> ' | tail -n 1)
[ "$last" = "resmlp> " ]; check "keys typed in the view do not reach the prompt (got '$last')" $?
echo "e2e_live_small: $fails failed"
[ $fails -eq 0 ]
