# lib_tmux.sh - shell helpers shared by the tmux-driven live-view tests (sourced, not run; the caller
# defines screen(), which prints the pane).
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
