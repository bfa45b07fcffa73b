#!/bin/sh
# e2e_leaks.sh - no C-side leak on error paths: runs tests/lua/leaks.lua (failing resmlp calls that
# have already acquired memory) under valgrind --leak-check=full; any definitely-lost block or memory
# error fails. valgrind cannot run the -march=native build (AVX-512), so this builds its own -O1
# binary under build/leakcheck (incremental after the first run). Skipped without valgrind.
cd "$(dirname "$0")/.." || exit 1
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 0; }
B=build/leakcheck
objs=$(for f in repl/*.c; do printf '%s/%s.o ' "$B" "${f%.c}"; done)
make -s B=$B OPT="-O1" $B/libresmlp.a $B/libresmlp_app.a $objs > $B.log 2>&1 || { cat $B.log; echo "FAIL: leak-check build"; exit 1; }
BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
gcc -O1 -fopenmp -o $B/resmlp $objs $B/libresmlp_app.a $B/libresmlp.a -llua5.4 -lreadline -lncursesw -lxml2 \
    -L$BLAS -Wl,-rpath,$BLAS -lopenblas -ldnnl -lcjson -lz -lm || { echo "FAIL: leak-check link"; exit 1; }
RESMLP_THREADS=1 OMP_NUM_THREADS=1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --error-exitcode=1 $B/resmlp run tests/lua/leaks.lua
