#!/bin/sh
# e2e_live.sh - the ncurses live training view end to end on a real pseudo-terminal (tmux on a private
# socket, HOME in a temp dir): a short real training with live=on shows the progress bar and a panel
# of activation curves; `q` stops it, the model is saved to out= and loads (`resmlp info`), the prompt
# is back and the terminal sane (a typed command echoes and runs); Ctrl-C in the view also stops,
# restores the terminal and keeps the prompt; without out= `q` saves to runs/<name>.safetensors
# (relative to the working directory: a temp dir here); `resmlp train --live` on the CLI stops on q
# and saves. Every wait polls capture-pane with a timeout, so a slow machine only makes it slower.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 0; }
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
DATA="$ROOT/../shared/data/cifar-10-batches-bin"
. tests/lib_tmux.sh   # tmux_setup, screen, count, wait_n, wait_all, check, lit, key
tmux_setup live
# clear the screen (readline C-l) so prompt counts are not thrown off by scrolling
fresh() { $T send-keys -t $S C-l; $T clear-history -t $S; sleep 0.3; }
prompts() { count 'resmlp> '; }
run() { n=$(prompts); lit "$1"; key Enter; wait_n 'resmlp> ' $((n + 1)) "${2:-15}"; }

# the REPL runs in $TMP so that runs/ (the default save place) lands there
$T new-session -d -s r -x 150 -y 45 -c "$TMP" "'$ROOT/resmlp'; echo EXIT=\$? > '$TMP/exit'; sleep 60"
wait_n 'resmlp> ' 1 20; check "prompt appears" $?
run "data cifar10 $DATA limit=2000 split=train" 60 && run 'model new act=lerp_psa hidden=24'
wait_n "new model 'model'" 1; check "data and model" $?

# ---- q: stops, saves to out=, prompt back, terminal sane
fresh; n=$(prompts)
lit "train epochs=20 live=on out=$TMP/m.safetensors"; key Enter
wait_all 120 '[#' '%' 'mlp.0' 'ch 0' 'q stop+save'; check "live view: progress bar and a curve panel" $?
screen | grep -q 'epoch .*/20 .*step .*img/s.*ETA'; check "live view: epoch, step, img/s and ETA" $?
key q
wait_n 'stopped (q) after' 1 60 && wait_n 'resmlp> ' $((n + 1)) 30; check "q stops training and the prompt is back" $?
wait_n "model saved to $TMP/m.safetensors" 1 5; check "q says where it saved (out=)" $?
[ -s "$TMP/m.safetensors" ] && ./resmlp info "$TMP/m.safetensors" > "$TMP/info" 2>&1 && grep -q "act=lerp_psa hidden=24" "$TMP/info"
check "the saved model loads (resmlp info)" $?
fresh; n=$(prompts)
lit 'help'; key Enter
wait_n 'resmlp> help' 1 10 && wait_n 'leave resmlp' 1 10 && wait_n 'resmlp> ' $((n + 1)) 10
check "terminal sane after q: a typed command echoes and runs" $?

# ---- Ctrl-C in the view: stops, view closed, prompt back; without out= nothing is saved
fresh; n=$(prompts)
lit 'train epochs=20'; key Enter
wait_all 60 'ETA' 'q stop+save'; r=$?
key C-c
wait_n 'interrupted after' 1 30 && wait_n 'resmlp> ' $((n + 1)) 30; check "Ctrl-C in the live view stops and returns to the prompt" $((r + $?))
[ ! -e "$TMP/runs/model.safetensors" ]; check "Ctrl-C without out= saves nothing" $?
run 'print("sane" .. 6*7)'; wait_n 'sane42' 1 10; check "terminal sane after Ctrl-C" $?

# ---- q without out=: runs/<model name>.safetensors, said in the message
fresh; n=$(prompts)
lit 'train epochs=20'; key Enter
wait_all 60 'ETA' 'q stop+save'; r=$?
key q
wait_n 'model saved to runs/model.safetensors' 1 60 && wait_n 'resmlp> ' $((n + 1)) 30
check "q without out= saves to runs/model.safetensors" $((r + $?))
[ -s "$TMP/runs/model.safetensors" ]; check "runs/model.safetensors exists" $?
key C-d
i=0; while [ ! -s "$TMP/exit" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'EXIT=0' "$TMP/exit" 2>/dev/null; check "Ctrl-D exits with status 0" $?

# ---- the CLI: resmlp train --live, q stops and saves to --out (a second session: restarting the
# tmux server right after kill-server races)
rm -f "$TMP/exit"
S=c
$T new-session -d -s c -x 150 -y 45 "'$ROOT/resmlp' train --live --act lerp_psa --hidden 24 --epochs 20 --limit 2000 \
    --data '$DATA/data_batch_1.bin' --out '$TMP/cli.safetensors'; echo EXIT=\$? > '$TMP/exit'; sleep 60"
$T kill-session -t r 2>/dev/null
wait_all 60 'ETA' 'q stop+save'; check "CLI --live shows the view" $?
key q
i=0; while [ ! -s "$TMP/exit" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'EXIT=0' "$TMP/exit" 2>/dev/null && wait_n "stopped (q) after" 1 5 && [ -s "$TMP/cli.safetensors" ]
check "CLI --live: q stops, saves and exits 0" $?

echo "e2e_live: $fails failed"
[ $fails -eq 0 ]
