#!/bin/sh
# startup.sh - how long resmlp takes to start: (1) `resmlp -e quit` (Lua state, prelude, threads,
# exit), with hyperfine when installed, else a timed loop; (2) exec to the `resmlp>` prompt on a
# pseudo-terminal (readline, history, banner), timed by a small python3 pty driver that waits for the
# prompt text. Target: under 50 ms to the prompt. Not a test: results vary with machine load.
# usage: sh bench/startup.sh [RUNS]
cd "$(dirname "$0")/.." || exit 1
N=${1:-30}
[ -x ./resmlp ] || { echo "build ./resmlp first (make resmlp)"; exit 1; }
H=$(mktemp -d)
trap 'rm -rf "$H"' EXIT
export HOME="$H" XDG_STATE_HOME="$H/state" RESMLP_HISTORY="$H/history" NO_COLOR=1
to_prompt() { # exec -> "resmlp> " on a pty, N runs: min / median / max
    python3 - "$N" <<'PY'
import os, pty, sys, time, select
n = int(sys.argv[1]); ts = []
for _ in range(n + 2):
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv("./resmlp", ["resmlp"])
    buf = b""
    while b"resmlp> " not in buf:
        r, _, _ = select.select([fd], [], [], 5)
        if not r: break
        buf += os.read(fd, 4096)
    ts.append((time.perf_counter() - t0) * 1000)
    os.write(fd, b"quit\n")
    try:
        while os.read(fd, 4096): pass
    except OSError: pass
    os.waitpid(pid, 0)
ts = sorted(ts[2:])
print("%-28s min %.1f ms, median %.1f ms, max %.1f ms (%d runs)" % ("exec to resmlp> prompt", ts[0], ts[len(ts) // 2], ts[-1], n))
PY
}
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 3 --runs "$N" "./resmlp -e quit"
    command -v python3 >/dev/null 2>&1 && to_prompt
    exit 0
fi
loop() { # label, command
    sh -c "$2" > /dev/null 2>&1   # warm the page cache
    t0=$(date +%s%N)
    i=0
    while [ $i -lt "$N" ]; do sh -c "$2" > /dev/null 2>&1; i=$((i + 1)); done
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" -v n="$N" -v l="$1" 'BEGIN { printf "%-28s %7.1f ms per run (%d runs, includes sh -c)\n", l, (b - a) / n / 1e6, n }'
}
loop "resmlp -e quit" "./resmlp -e quit"
loop "baseline: sh -c true" "true"
command -v python3 >/dev/null 2>&1 && to_prompt
