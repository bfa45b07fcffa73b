#!/bin/sh
# regen_golden.sh - rewrite the golden files under tests/golden/ from the current code, then list what
# changed so a person reviews it by eye (cat the files, git diff) before committing.
# Every tests/test_*.c that reads RESMLP_REGEN_GOLDEN is run with it set to 1 from the repository root.
# The test binaries are the ones `make` builds (`make golden` builds and then runs this).
set -e
cd "$(dirname "$0")/.."
mkdir -p tests/golden/plots
for src in $(grep -l RESMLP_REGEN_GOLDEN tests/test_*.c); do
    name=$(basename "$src" .c)
    bin=build/tests/$name
    [ -x "$bin" ] || { echo "regen_golden: $bin missing; run make first (make golden does)" >&2; exit 1; }
    echo "regen_golden: $name"
    RESMLP_REGEN_GOLDEN=1 "$bin"
done
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git status --short tests/golden
fi
