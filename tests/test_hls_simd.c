/* test_hls_simd.c - the fixed SIMD design's latency model against the paper's three synthesis figures
 * (within 5 %, the h=192 one out of sample) and its printed formula terms. The emitted HLS C++ of the
 * design is simulated bit-exact against the integer engine in test_hls_emit.c (simd_csim_one). */
#include "hlsgen/simd.h"
#include "tests/tutil.h"
#include <stdio.h>
#include <string.h>

static void test_estimate(void) {
    rm_ctx ctx = {0};
    struct { int act, h; long paper; const char *what; } pts[] = {
        {RM_HLS_ACT_RELU, 96, 29215, "ReLU h=96"}, {RM_HLS_ACT_LERP, 96, 29441, "LERP-PSA h=96"},
        {RM_HLS_ACT_RELU, 192, 47681, "ReLU h=192"}};
    for (int i = 0; i < 3; i++) {
        rm_hls_dims d = rm_hls_dims_paper(pts[i].act, pts[i].h);
        rm_simd_est e;
        CHECK_OK(rm_hls_simd_estimate(&ctx, &d, 5.0, &e), &ctx);
        double rel = (double)(e.total - pts[i].paper) / pts[i].paper;
        printf("%s: %ld cycles, paper %ld (%+.2f%%)\n", pts[i].what, e.total, pts[i].paper, 100 * rel);
        CHECK(rel > -0.05 && rel < 0.05, "%s: %ld vs the paper's %ld", pts[i].what, e.total, pts[i].paper);
        CHECK(e.ncalls == 14, "14 calls of the shared tile (%d)", e.ncalls);
        /* the terms add up, and the MAC cycles are the loop counts */
        long sum = 0;
        for (int k = 0; k < e.ncalls; k++) sum += e.call[k].total;
        long io = e.in_copy > e.first_load ? e.in_copy : e.first_load;
        CHECK(sum + io + e.pool + e.out_write == e.total, "terms add up");
        CHECK(e.call[0].mac == 48L * 4 * 6 && e.call[1].mac == 64L * 6 * 4 && e.call[2].mac == 96L * 4 * (pts[i].h / 16),
              "MAC cycles K*ceil(N/16)*ceil(O/16)");
        char buf[8192];
        rm_hls_simd_format(&e, buf, sizeof buf);
        CHECK(strstr(buf, "K*ceil(N/16)*ceil(O/16)") && strstr(buf, "calibrated") && strstr(buf, "blocks_3_mlp_linear_2"),
              "the formula terms are printed");
    }
    rm_hls_dims bad = rm_hls_dims_paper(RM_HLS_ACT_RELU, 0);
    rm_simd_est e;
    CHECK(rm_hls_simd_estimate(&ctx, &bad, 5.0, &e) == RM_ERR, "h=0 refused");
}

int main(void) {
    test_estimate();
    TEST_END();
}
