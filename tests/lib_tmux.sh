# lib_tmux.sh - shell helpers shared by the tmux-driven tests (sourced, not run).
# tmux_setup NAME: a private tmux server (socket resmlp-NAME-PID) with HOME and XDG dirs in a fresh temp dir
# ($TMP, removed on exit with the server), the terminal and environment the live-view tests expect
# (xterm, UTF-8, no colour, no inputrc, no history file, PAGER=cat, RESMLP_THREADS 2 unless set),
# fails=0, and the helpers below talking to session $S (default r). TMUX_SCROLLBACK="-S -" makes screen()
# read the whole scrollback, not just the visible pane. Waits scale by RESMLP_TEST_TIMESCALE (TS; tests/valgrind.sh
# sets it: resmlp runs ~30x slower under valgrind).
tmux_setup() {
    TMP=$(mktemp -d)
    SOCK=resmlp-$1-$$
    export HOME="$TMP" XDG_STATE_HOME="$TMP/state" XDG_CONFIG_HOME="$TMP/config" INPUTRC=/dev/null NO_COLOR=1
    export RESMLP_THREADS=${RESMLP_THREADS:-2} TERM=xterm LANG=C.UTF-8 RESMLP_HISTORY= PAGER=cat
    unset TMUX LC_ALL
    T="tmux -L $SOCK -f /dev/null"
    trap '$T kill-server 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
    fails=0
    S=${S:-r}
    TS=${RESMLP_TEST_TIMESCALE:-1}
}
screen() { $T capture-pane -p -J -t $S $TMUX_SCROLLBACK 2>/dev/null; }
count() { screen | grep -c -F -- "$1"; }
lit() { $T send-keys -t $S -l -- "$1"; }
key() { $T send-keys -t $S "$@"; }
# wait_n TEXT N [SECONDS]: until TEXT occurs at least N times on the screen (SECONDS times TS)
wait_n() {
    i=0; lim=$(( ${3:-15} * 10 * TS ))
    while [ "$(count "$1")" -lt "$2" ]; do i=$((i + 1)); [ $i -ge $lim ] && return 1; sleep 0.1; done
    return 0
}
# check NAME STATUS: ok / FAIL line; on failure the last non-empty lines of the screen
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); echo "---- screen:"; screen | grep -v '^$' | tail -n 25; echo "----"; fi
}
# wait_all SECONDS TEXT...: until every TEXT is on the screen at the same time
wait_all() {
    i=0; lim=$(( $1 * 10 )); shift
    while :; do
        s=$(screen); all=1
        for t in "$@"; do printf '%s' "$s" | grep -q -F -- "$t" || { all=0; break; }; done
        [ $all -eq 1 ] && return 0
        i=$((i + 1)); [ $i -ge $lim ] && return 1
        sleep 0.2
    done
}
