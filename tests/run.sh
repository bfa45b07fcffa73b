#!/bin/sh
# run.sh - the test runner behind `make test`: every build/tests/test_* executable (with 2 threads and
# with 1, as the suite must hold for both) and every tests/e2e_*.sh script. Prints one line per test
# and ends with `N passed, N failed`; exits non-zero on any failure.
cd "$(dirname "$0")/.." || exit 1
pass=0; fail=0; failed=""
log=build/test-logs
mkdir -p "$log"
run() { # name, command...
    name=$1; shift
    t0=$(date +%s.%N)
    if "$@" > "$log/$name.log" 2>&1; then
        pass=$((pass + 1)); st=ok
    else
        fail=$((fail + 1)); st=FAIL; failed="$failed $name"
    fi
    printf '%-4s %-40s %6.1fs\n' "$st" "$name" "$(awk "BEGIN{print $(date +%s.%N) - $t0}")"
    [ $st = FAIL ] && tail -n 20 "$log/$name.log" | sed 's/^/     | /'
}
for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    run "$n[2 threads]" env RESMLP_THREADS=2 "$t"
    case " $RESMLP_TEST_ONE_THREAD_SKIP " in *" $n "*) continue;; esac
    run "$n[1 thread]" env RESMLP_THREADS=1 "$t"
done
# every matmul path, forced with RESMLP_ISA (a path above what the CPU has tests the CPU's best and says so)
for isa in amx avx512_bf16 avx512 avx2 openblas; do
    [ -x build/tests/test_gemm ] && run "test_gemm[isa=$isa]" env RESMLP_ISA=$isa RESMLP_THREADS=2 build/tests/test_gemm
done
for s in tests/e2e_*.sh tests/e2e_*.lua; do
    [ -f "$s" ] || continue
    case "$s" in
        *.sh) run "$(basename "$s")" sh "$s" ;;
        *.lua) run "$(basename "$s")" ./resmlp run "$s" ;;
    esac
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
