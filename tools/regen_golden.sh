#!/bin/sh
# regen_golden.sh - rewrite the golden files under tests/golden/ from the current code, then list what
# changed so a person reviews it by eye (cat the files, git diff) before committing.
# Every tests/test_*.c that reads RESMLP_REGEN_GOLDEN is run with it set to 1 from the repository root.
# test_plots is compiled here by hand (it needs only plots/ and core/ctx.c); other such tests use the
# binary `make` left in build/tests/.
set -e
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p tests/golden/plots
for src in $(grep -l RESMLP_REGEN_GOLDEN tests/test_*.c); do
    name=$(basename "$src" .c)
    if [ "$name" = test_plots ]; then
        bin=$tmp/$name
        $CC -std=c11 -O2 -D_GNU_SOURCE -I. -Icore -I/usr/include/x86_64-linux-gnu/openblas-pthread \
            -o "$bin" "$src" plots/*.c core/ctx.c -fopenmp -lopenblas -lm
    else
        bin=build/tests/$name
        [ -x "$bin" ] || { echo "regen_golden: $bin missing; build it first (make)" >&2; exit 1; }
    fi
    echo "regen_golden: $name"
    RESMLP_REGEN_GOLDEN=1 "$bin"
done
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git status --short tests/golden
fi
