#!/bin/sh
# e2e_pager.sh - long outputs (help, info, ...) typed at the prompt go through $PAGER when stdout is a
# terminal (tmux pty), not when it is a pipe; short commands are not paged; a paged command that fails
# leaves the prompt printing normally; TERM=dumb is not paged. The pager here is a shell command that records what it got.
cd "$(dirname "$0")/.." || exit 1
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not installed"; exit 0; }
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
. tests/lib_tmux.sh   # tmux_setup, screen, count, wait_n, check
RESMLP_THREADS=1 TMUX_SCROLLBACK="-S -"
tmux_setup pager
unset RESMLP_HISTORY
export PAGER="sh -c 'cat >> $TMP/paged; echo PAGED-BY-TEST'"
run() { n=$(count 'resmlp> '); $T send-keys -t r -l -- "$1"; $T send-keys -t r Enter; wait_n 'resmlp> ' $((n + 1)); }

$T new-session -d -s r -x 120 -y 40 "./resmlp; sleep 30"
wait_n 'resmlp> ' 1; check "prompt" $?
run "help"
grep -q "commands" "$TMP/paged" 2>/dev/null && wait_n PAGED-BY-TEST 1; check "help goes through \$PAGER" $?
run "help lua"
grep -q "0-based" "$TMP/paged" 2>/dev/null; check "help lua is paged" $?
: > "$TMP/paged"
run "threads"
[ ! -s "$TMP/paged" ] && [ "$(count 'threads')" -ge 2 ]; check "a short command is not paged" $?
run "info nosuchmodel"
run 'print("AFTER-FAIL-" .. 6 * 7)'
[ "$(count 'AFTER-FAIL-42')" -ge 1 ]; check "after a failed paged command the prompt prints normally" $?
# TERM=dumb (a pty that is no real terminal: Emacs shells, scripts): no pager, which would wait for keys
rm -f "$TMP/paged"
$T new-session -d -s d -x 120 -y 40 "TERM=dumb ./resmlp; sleep 30"
i=0; while ! $T capture-pane -p -t d | grep -q 'resmlp> '; do i=$((i + 1)); [ $i -ge 150 ] && break; sleep 0.1; done
$T send-keys -t d -l -- "help"; $T send-keys -t d Enter
i=0; while [ "$($T capture-pane -p -J -t d -S - | grep -c 'resmlp> ')" -lt 2 ]; do i=$((i + 1)); [ $i -ge 150 ] && break; sleep 0.1; done
[ ! -e "$TMP/paged" ] && $T capture-pane -p -J -t d -S - | grep -q "commands"; check "TERM=dumb: no pager" $?
# stdout not a terminal: no pager
rm -f "$TMP/paged"
echo help | ./resmlp > "$TMP/out" 2>&1
[ ! -e "$TMP/paged" ] && grep -q "commands" "$TMP/out"; check "piped: no pager" $?
echo "e2e_pager: $fails failed"
[ $fails -eq 0 ]
