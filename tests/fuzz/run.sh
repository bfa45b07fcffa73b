#!/bin/sh
# run.sh - drive the fuzz harnesses (tests/fuzz/fuzz_*.c), built by `make fuzz-build` / `make fuzz-afl-build`.
#   run.sh replay T...  every committed input of tests/fuzz/corpus/<T> once (seconds; what `make test` does)
#   run.sh fuzz T...    libFuzzer, FUZZ_SECONDS (300) per target, one target at a time on one core
#                       (FUZZ_RUNS=N instead stops each target after N executions, FUZZ_SECONDS then a cap;
#                       FUZZ_FORK=J: one run in libFuzzer's fork mode with J worker processes, executions counted
#                       over all of them, timeouts and out-of-memory stopping the run as without fork mode);
#                       new inputs go to build/fuzz/work/<T>, crashes to build/fuzz/crash/<T>/ (the run stops)
#   run.sh afl T...     AFL++ (build/afl/fuzz_<T>), FUZZ_SECONDS per target, output in build/afl/out/<T>
# Each fuzz/afl run prints executions and crashes per target (the numbers go in tests/fuzz/README.md).
cd "$(dirname "$0")/../.." || exit 1
mode=$1; shift
secs=${FUZZ_SECONDS:-300}
status=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "$@"; do
    corpus=tests/fuzz/corpus/$t
    case $mode in
    replay)
        bin=build/fuzz/fuzz_$t
        n=$(ls "$corpus" | wc -l)
        if "$bin" -rss_limit_mb=2048 -malloc_limit_mb=1024 "$corpus"/* > build/fuzz/replay_$t.log 2>&1; then
            echo "ok   fuzz_$t: $n inputs replayed"
        else
            echo "FAIL fuzz_$t: see build/fuzz/replay_$t.log"; tail -n 30 build/fuzz/replay_$t.log; status=1
        fi ;;
    fuzz)
        bin=build/fuzz/fuzz_$t
        mkdir -p build/fuzz/work/$t build/fuzz/crash/$t
        dict=""; [ -f tests/fuzz/$t.dict ] && dict="-dict=tests/fuzz/$t.dict"
        runs=""; [ -n "$FUZZ_RUNS" ] && runs="-runs=$FUZZ_RUNS"
        [ -n "$FUZZ_FORK" ] && runs="$runs -fork=$FUZZ_FORK -ignore_timeouts=0 -ignore_ooms=0 -ignore_crashes=0"
        start=$(date +%s)
        "$bin" -max_total_time="$secs" $runs -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
            -print_final_stats=1 -artifact_prefix=build/fuzz/crash/$t/ $dict build/fuzz/work/$t "$corpus" \
            > build/fuzz/fuzz_$t.log 2>&1
        rc=$?
        took=$(( $(date +%s) - start ))
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' build/fuzz/fuzz_$t.log | grep -o '[0-9]*$')
        # fork mode prints no final stats: the last "#N:" line counts the executions of all workers
        [ -z "$execs" ] && execs=$(grep -o '^#[0-9]*:' build/fuzz/fuzz_$t.log | tail -n 1 | tr -d '#:')
        crashes=$(ls build/fuzz/crash/$t | wc -l)
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' build/fuzz/fuzz_$t.log | tail -n 1)
        oomtc=$(grep -o 'oom/timeout/crash: [0-9/]*' build/fuzz/fuzz_$t.log | tail -n 1)
        [ -n "$oomtc" ] && cov="$cov, $oomtc"
        echo "fuzz_$t: ${took}s, ${execs:-?} executions, $cov, exit $rc, $crashes crash files in build/fuzz/crash/$t"
        [ "$rc" -ne 0 ] && { status=1; grep -m1 -A12 'ERROR\|runtime error\|deadly signal' build/fuzz/fuzz_$t.log; } ;;
    afl)
        bin=build/afl/fuzz_$t
        mkdir -p build/afl/out
        ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1 \
        UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0 \
        AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1 \
            timeout -s INT $((secs + 30)) afl-fuzz -V "$secs" -m none -t 10000 -i "$corpus" -o build/afl/out/$t \
            -- "$bin" > build/afl/afl_$t.log 2>&1
        st=build/afl/out/$t/default/fuzzer_stats
        execs=$(sed -n 's/^execs_done *: *//p' "$st" 2>/dev/null)
        crashes=$(sed -n 's/^saved_crashes *: *//p' "$st" 2>/dev/null)
        [ -z "$crashes" ] && crashes=$(sed -n 's/^unique_crashes *: *//p' "$st" 2>/dev/null)
        echo "afl fuzz_$t: ${secs}s, ${execs:-?} executions, ${crashes:-?} crashes (build/afl/out/$t)"
        [ "${crashes:-1}" != 0 ] && status=1 ;;
    *) echo "usage: run.sh replay|fuzz|afl TARGET..."; exit 2 ;;
    esac
done
exit $status
