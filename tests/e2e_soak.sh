#!/bin/sh
# e2e_soak.sh - the short CI variant of tests/soak.py (the prompt on a pseudo-terminal under mixed valid
# and invalid commands, Lua errors and Ctrl-C): 600 commands, no crash, every marker answered, exit 0 on
# `quit`, resident memory within 6 % after a 200-command warm-up (runs here: +1.0-2.0 %, still warming up:
# code pages and Lua's string table fill; a leak of about 2.5 KB per command, a model or data set never
# freed, would exceed it).
# The full soak (10,000 commands, < 1 %) is `python3 tests/soak.py` (result in tests/fuzz/README.md).
# Under the sanitizer build (make test-asan) RSS says nothing about leaks - ASan holds freed memory in its
# quarantine and grows shadow memory, and the per-sample reset reloads a model every 20 commands - so there
# the mix runs without the RSS bound and LeakSanitizer's report at exit is the leak check.
cd "$(dirname "$0")/.." || exit 1
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 0; }
if ldd ./resmlp 2>/dev/null | grep -q 'libasan\.so'; then
    echo "note: ASan build: no RSS bound (quarantine), LeakSanitizer checks leaks at exit"
    exec python3 tests/soak.py 600 --every 20 --warmup 200 --limit 100000
fi
python3 tests/soak.py 600 --every 20 --warmup 200 --limit 6
