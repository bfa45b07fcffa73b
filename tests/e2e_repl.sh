#!/bin/sh
# e2e_repl.sh - the resmlp> prompt end to end on a real pseudo-terminal (tmux on a private socket,
# HOME and XDG dirs in a temp dir): a command prints; Tab completes a command, an option and a Lua
# field; multi-line Lua; a Lua error returns to the prompt; Ctrl-C during training returns to the
# prompt and the model still evaluates; Ctrl-C clears the line; Ctrl-D exits 0; history survives a
# restart. Every wait polls capture-pane with a timeout, so a slow machine only makes it slower.
cd "$(dirname "$0")/.." || exit 1
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 0; }
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
. tests/lib_tmux.sh   # tmux_setup, screen, count, wait_n (scaled by RESMLP_TEST_TIMESCALE), check, lit, key
RESMLP_THREADS=1 TMUX_SCROLLBACK="-S -"
tmux_setup e2e
unset RESMLP_HISTORY   # the default history file under $HOME: the test checks it survives a restart
prompts() { count 'resmlp> '; }
# run LINE and wait for the next prompt
run() { n=$(prompts); lit "$1"; key Enter; wait_n 'resmlp> ' $((n + 1)) "${2:-15}"; }
start() {
    rm -f "$TMP/exit"
    $T new-session -d -s r -x 160 -y 50 "./resmlp; echo EXIT=\$? > '$TMP/exit'; sleep 60"
    wait_n 'resmlp> ' 1 20
}

start; check "prompt appears" $?
run 'threads'; wait_n 'threads: 1' 1; check "a command runs and prints" $?

lit 'thr'; key Tab; wait_n 'resmlp> threads ' 1; check "Tab completes a command" $?
key C-u
lit 'train ep'; key Tab; wait_n 'train epochs=' 1; check "Tab completes an option" $?
key C-u
lit 'resmlp.curr'; key Tab; wait_n 'resmlp.current' 1; check "Tab completes a Lua field" $?
key C-u

n=$(prompts)
lit 'for i=1,3 do'; key Enter; wait_n '...> ' 1 && lit 'print("sq" .. i*i)' && key Enter && lit 'end' && key Enter
wait_n 'sq9' 1 && wait_n 'resmlp> ' $((n + 1)); check "multi-line Lua" $?

run 'error("boom-" .. 42)'; wait_n 'boom-42' 1; r=$?
run 'print("after" .. 7)'; wait_n 'after7' 1; check "a Lua error returns to the prompt" $((r + $?))

run 'data cifar10 limit=4096' 60 && run 'model new act=lerp_psa hidden=16'
wait_n "new model 'model'" 1; check "data and model" $?
n=$(prompts)
lit 'train epochs=100'; key Enter
wait_n ' step ' 1 60; r=$?
key C-c
wait_n 'interrupted' 1 30 && wait_n 'resmlp> ' $((n + 1)) 30; check "Ctrl-C stops training and returns to the prompt" $((r + $?))
run 'eval' 60; wait_n 'accuracy ' 1; check "the model still evaluates after Ctrl-C" $?

lit 'abc'; key C-c; wait_n 'abc^C' 1; check "Ctrl-C clears the line at the prompt" $?
sleep $(( TS > 1 ? 3 : 0 )).3; screen | grep -v '^ *$' | tail -n 1 | grep -qE '^resmlp> ?$'; check "the prompt after Ctrl-C starts at column 0" $?
run 'hist_marker = 42'
key C-d
i=0; while [ ! -s "$TMP/exit" ] && [ $i -lt $((100 * TS)) ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'EXIT=0' "$TMP/exit" 2>/dev/null; check "Ctrl-D exits with status 0" $?

$T kill-server 2>/dev/null
# a fresh server on a new socket: restarting one straight after kill-server can race in tmux
SOCK=${SOCK}b; T="tmux -L $SOCK -f /dev/null"
[ -s "$TMP/state/resmlp/history" ]; check "history file in XDG_STATE_HOME" $?
start && key Up && wait_n 'resmlp> hist_marker = 42' 1; check "history survives a restart" $?
key C-u C-d

echo "e2e_repl: $fails failed"
[ $fails -eq 0 ]
