#!/bin/sh
# asan.sh - the AddressSanitizer + UndefinedBehaviorSanitizer build (gcc, build/asan, -O1) and its runs.
#   asan.sh build        libraries, unit tests and the program (build/asan/resmlp), incremental
#   asan.sh unit [T...]  the unit tests (all, or the named ones) under ASan+UBSan, leak checking on
#   asan.sh suite        the whole suite (tests/run.sh: unit tests with 2 and 1 threads, every e2e script)
#                        against the ASan build, run from a shadow tree build/asan/tree whose ./resmlp and
#                        build/tests are the sanitized ones (the scripts use those paths)
# Any ASan report, UBSan runtime error (halt_on_error) or leak fails the test that hit it.
cd "$(dirname "$0")/.." || exit 1
B=build/asan
OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
build() {
    mkdir -p $B
    [ -f $B/.deps ] || { sh tools/deps.sh && touch $B/.deps; } || return 1
    objs=$(for f in repl/*.c; do printf '%s/%s.o ' $B "${f%.c}"; done)
    tests=$(for f in tests/test_*.c; do printf '%s/tests/%s ' $B "$(basename "$f" .c)"; done)
    make -s -j2 B=$B OPT="$OPT" $B/libresmlp.a $B/libresmlp_app.a $objs $tests > $B/build.log 2>&1 ||
        { tail -n 30 $B/build.log; echo "FAIL: ASan build (see $B/build.log)"; return 1; }
    BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
    gcc $OPT -fopenmp -o $B/resmlp $objs $B/libresmlp_app.a $B/libresmlp.a -llua5.4 -lreadline -lncursesw -lxml2 \
        -L$BLAS -Wl,-rpath,$BLAS -lopenblas -ldnnl -lcjson -lz -lm || { echo "FAIL: ASan link of resmlp"; return 1; }
}
case $1 in
build) build ;;
unit)
    shift
    [ $# -eq 0 ] && set -- $(cd $B/tests && ls test_*)
    st=0
    for t in "$@"; do
        t0=$(date +%s.%N)
        if RESMLP_THREADS=2 $B/tests/$t > $B/$t.log 2>&1; then r=ok; else r=FAIL; st=1; fi
        printf '%-4s asan %-22s %6.1fs\n' $r "$t" "$(awk "BEGIN{print $(date +%s.%N) - $t0}")"
        [ $r = FAIL ] && grep -m1 -B2 -A12 'ERROR: \|runtime error\|FAIL' $B/$t.log
    done
    exit $st ;;
suite)
    build || exit 1
    T=$B/tree
    rm -rf $T
    mkdir -p $T/build
    for d in core plots hlsgen repl lua_scripts tests tools bench Makefile README.md; do ln -s "$(pwd)/$d" $T/$d; done
    ln -s "$(pwd)/$B/resmlp" $T/resmlp
    ln -s "$(pwd)/$B/tests" $T/build/tests
    touch $T/build/.deps
    ln -sfn "$(cd .. && pwd)/shared" $B/shared   # ../shared/data as seen from the tree
    # the fuzz replay and the ASan unit entry of `make test` are this build already; skip them inside
    cd $T && RESMLP_ASAN_SUITE=1 sh tests/run.sh ;;
*) echo "usage: asan.sh build | unit [TEST...] | suite"; exit 2 ;;
esac
