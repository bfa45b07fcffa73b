#!/bin/sh
# e2e_asan_unit.sh - the ASan + UBSan entry of `make test` (CI): builds build/asan (tests/asan.sh,
# incremental) and runs the C unit tests that take seconds under the sanitizers (~25 s of CPU in all).
# Left out here for time, run by `make test-asan` (the whole suite under ASan): test_bnn (~50 s of
# CPU under ASan), test_recipe (> 290 s), test_train (> 55 s), test_int_engine, test_hls_emit,
# test_hls, test_quant, test_import, test_grad, test_gemm.
cd "$(dirname "$0")/.." || exit 1
[ -n "$RESMLP_ASAN_SUITE" ] && { echo "SKIP: inside make test-asan (the whole suite runs sanitized)"; exit 0; }
sh tests/asan.sh build || exit 1
sh tests/asan.sh unit test_act test_actplot test_checkpoint test_curves test_data test_faults test_model \
    test_net test_plots test_safetensors test_table
