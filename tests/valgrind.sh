#!/bin/sh
# valgrind.sh - `make test-valgrind`: the REPL end-to-end tests (e2e_scripts.sh: -e, run, piped stdin,
# exit codes; e2e_repl.sh: the prompt on a pseudo-terminal; every tests/e2e_*.lua) with every resmlp
# process under valgrind --leak-check=full. Any definitely-lost block or memory error fails. valgrind
# cannot run the -march=native build (AVX-512), so this uses the -O1 build of tests/e2e_leaks.sh
# (build/leakcheck) behind a ./resmlp wrapper in a shadow tree (build/valgrind/tree).
# VALGRIND_TESTS="tests/e2e_repl.sh ..." runs a subset; an entry lua_scripts/NAME.lua runs that script
# with --quick, as e2e_scripts.sh's loop does (VALGRIND_TESTS="lua_scripts/*.lua": that loop alone).
cd "$(dirname "$0")/.." || exit 1
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 0; }
ROOT=$(pwd)
B=build/leakcheck
objs=$(for f in repl/*.c; do printf '%s/%s.o ' "$B" "${f%.c}"; done)
mkdir -p $B
make -s -j2 B=$B OPT="-O1" $B/libresmlp.a $B/libresmlp_app.a $objs > $B.log 2>&1 || { cat $B.log; echo "FAIL: valgrind build"; exit 1; }
BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
gcc -O1 -fopenmp -o $B/resmlp $objs $B/libresmlp_app.a $B/libresmlp.a -llua5.4 -lreadline -lncursesw -lxml2 \
    -L$BLAS -Wl,-rpath,$BLAS -lopenblas -ldnnl -lcjson -lz -lm || { echo "FAIL: valgrind link"; exit 1; }
V=build/valgrind
T=$V/tree
rm -rf $V
mkdir -p $T/build $V/logs
for d in core plots hlsgen repl lua_scripts tests tools bench Makefile README.md; do ln -s "$ROOT/$d" $T/$d; done
ln -s "$ROOT/build/tests" $T/build/tests
ln -sfn "$(cd .. && pwd)/shared" $V/shared
cat > $T/resmlp <<EOW
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \\
    --log-file=$ROOT/$V/logs/vg.%p.log $ROOT/$B/resmlp "\$@"
EOW
chmod +x $T/resmlp
st=0
# oneDNN's JIT kernels read whole vectors past the end of their buffers (masked AVX loads valgrind
# cannot model: "Invalid read of size 32" in ???), so the matmuls go through OpenBLAS here
export RESMLP_THREADS=1 OMP_NUM_THREADS=1 RESMLP_ISA=openblas
# the e2e scripts' waits for the screen scale by this (valgrind runs resmlp ~30x slower)
export RESMLP_TEST_TIMESCALE=${RESMLP_TEST_TIMESCALE:-10}
cd $T || exit 1
# VALGRIND_TESTS: a subset (e2e_scripts.sh runs every lua_scripts/*.lua --quick: long under valgrind)
for s in ${VALGRIND_TESTS:-tests/e2e_repl.sh tests/e2e_scripts.sh tests/e2e_*.lua}; do
    t0=$(date +%s)
    case $s in
        *.sh) sh "$s" > "$ROOT/$V/$(basename "$s").log" 2>&1 ;;
        lua_scripts/*) ./resmlp run "$s" --quick --out "$ROOT/$V/out/$(basename "$s" .lua)" > "$ROOT/$V/$(basename "$s").log" 2>&1 ;;
        *) ./resmlp run "$s" > "$ROOT/$V/$(basename "$s").log" 2>&1 ;;
    esac
    r=$?
    printf '%-4s valgrind %-28s %4ds\n' "$([ $r -eq 0 ] && echo ok || echo FAIL)" "$s" $(($(date +%s) - t0))
    [ $r -eq 0 ] || { st=1; tail -n 15 "$ROOT/$V/$(basename "$s").log"; }
done
cd "$ROOT" || exit 1
n=$(ls $V/logs | wc -l)
bad=$(grep -l 'definitely lost\|Invalid \|uninitialised\|Mismatched\|overlap' $V/logs/* 2>/dev/null)
if [ -n "$bad" ]; then
    st=1
    for f in $bad; do echo "--- $f"; head -n 40 "$f"; done
fi
echo "valgrind: $n resmlp processes, $(echo $bad | wc -w) with definite leaks or memory errors"
exit $st
