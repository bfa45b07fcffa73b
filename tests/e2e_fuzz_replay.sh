#!/bin/sh
# e2e_fuzz_replay.sh - replay every committed fuzz input (tests/fuzz/corpus/<target>/: seeds and the
# regression inputs of crashes found and fixed) through the libFuzzer + ASan + UBSan harnesses once:
# seconds, not a fuzzing run (`make fuzz` is that). Skipped, with a message, when clang cannot build
# libFuzzer targets. Builds build/fuzz (incremental).
cd "$(dirname "$0")/.." || exit 1
[ -n "$RESMLP_ASAN_SUITE" ] && { echo "SKIP: inside make test-asan (the harnesses are a sanitizer build already)"; exit 0; }
command -v clang >/dev/null 2>&1 || { echo "SKIP: clang not installed (fuzz corpora not replayed)"; exit 0; }
mkdir -p build/fuzz
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' > build/fuzz/probe.c
clang -fsanitize=fuzzer,address,undefined -o build/fuzz/probe build/fuzz/probe.c > build/fuzz/probe.log 2>&1 ||
    { echo "SKIP: clang cannot build libFuzzer targets here: $(head -n 1 build/fuzz/probe.log)"; exit 0; }
make -s -j2 fuzz-build > build/fuzz/build.log 2>&1 || { tail -n 30 build/fuzz/build.log; echo "FAIL: fuzz build"; exit 1; }
sh tests/fuzz/run.sh replay cifar idx table safetensors csynth cmdline luaopts qmodel
