/* test_curves.c - the curve inspection API: layer lookup by block/name, sampling matches the
 * activation kernels, LERP tables on the grid, B-spline TV2 per channel, input statistics and
 * percentiles recorded during evaluation on real CIFAR-10 images. */
#include "tests/tutil.h"
#include "core/curves.h"
#include "core/train.h"
#include <string.h>

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_LERP_PSA, 24);
    CHECK_OK(rm_model_new(&ctx, &m, &c, 3), &ctx);
    CHECK(rm_curve_nlayers(m) == 8, "lerp model has 8 activation layers");
    rm_act_layer a;
    CHECK_OK(rm_curve_layer(&ctx, m, 2, "mlp.2", &a), &ctx);
    CHECK(a.C == 24 && !strcmp(a.name, "layers.2.layers.1.layers.2"), "mlp.2 of block 2: C=%d %s", a.C, a.name);
    CHECK(rm_curve_layer(&ctx, m, 2, "mlp.7", &a) == RM_ERR && strstr(ctx.msg, "mlp.0 and mlp.2"), "unknown layer: %s", ctx.msg);
    CHECK(rm_curve_layer(&ctx, m, 9, "mlp.0", &a) == RM_ERR, "bad block");
    CHECK_OK(rm_curve_layer(&ctx, m, 1, "mlp.0", &a), &ctx);
    float x[101], y[101], ys[101], t[128], gx[128];
    CHECK_OK(rm_curve_sample(&ctx, &a, 5, -6, 6, 101, 0, x, y), &ctx);
    CHECK_OK(rm_curve_sample(&ctx, &a, 5, -6, 6, 101, 1, x, ys), &ctx);
    CHECK(x[0] == -6 && x[100] == 6 && fabsf(x[50]) < 1e-6f, "x grid");
    /* LERP vs smooth: close inside the grid (spacing 8/63) */
    float maxd = 0;
    for (int i = 17; i <= 83; i++) maxd = fmaxf(maxd, fabsf(y[i] - ys[i]));
    CHECK(maxd < 0.5f, "lerp close to the smooth curve inside the grid: %g", maxd);
    int n = rm_curve_table(&a, 5, t, gx);
    CHECK(n == 64 && fabsf(gx[0] + 4) < 1e-6f && fabsf(gx[63] - 4) < 1e-6f, "table of 64 over [-4,4]");
    float yy[64];
    rm_curve_sample(&ctx, &a, 5, -4, 4, 64, 0, x, yy);
    float md = 0;
    for (int i = 0; i < 64; i++) md = fmaxf(md, fabsf(yy[i] - t[i]));
    CHECK(md < 1e-4f, "curve at grid points equals the table: %g", md);
    CHECK(rm_curve_sample(&ctx, &a, 96, -1, 1, 5, 0, x, y) == RM_ERR, "channel out of range");

    /* record input statistics during evaluation on real images */
    rm_dataset ds = {0}, sub = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &ds, DATA_DIR "/cifar-10-batches-bin", "test"), &ctx);
    CHECK_OK(rm_dataset_slice(&ctx, &sub, &ds, 0, 200), &ctx);
    m->record_stats = 1;
    rm_model_reset_stats(m);
    float acc, loss;
    CHECK_OK(rm_evaluate(&ctx, m, &sub, 100, &acc, &loss), &ctx);
    rm_curve_layer(&ctx, m, 0, "mlp.0", &a);
    CHECK(a.stats->count == 200.0 * 64 * 96, "count %g", a.stats->count);
    float p50 = rm_curve_percentile(a.stats, 50), p1 = rm_curve_percentile(a.stats, 1), p99 = rm_curve_percentile(a.stats, 99);
    printf("block 0 mlp.0 inputs: min %.3f p1 %.3f p50 %.3f p99 %.3f max %.3f\n", a.stats->min, p1, p50, p99, a.stats->max);
    CHECK(a.stats->min <= p1 && p1 < p50 && p50 < p99 && p99 <= a.stats->max, "percentiles ordered");
    CHECK(fabsf(p50) < 0.5f, "BN-normalised inputs centred: p50 %.3f", p50);
    float lo, hi;
    rm_curve_default_range(&a, &lo, &hi);
    CHECK(lo < p1 && hi > p99, "default range covers the data");

    /* B-spline: TV2 per channel sums to the layer's regulariser */
    rm_model *b = NULL;
    rm_model_cfg bc = rm_model_default_cfg(RM_ACT_BSPLINE, 16);
    CHECK_OK(rm_model_new(&ctx, &b, &bc, 4), &ctx);
    for (size_t i = 0; i < b->nparams; i++) b->mem[i] += 0.01f * (float)((i * 7919) % 13) - 0.06f;
    rm_curve_layer(&ctx, b, 0, "mlp.2", &a);
    double tv = 0;
    for (int ch = 0; ch < a.C; ch++) tv += rm_curve_tv2(&a, ch);
    float reg = rm_act_regular(a.cfg, a.C, a.p, NULL, 1.0f);
    CHECK(t_close(tv, reg, 1e-4, 1e-6), "tv2 per channel sums to the layer's: %g vs %g", tv, reg);
    CHECK(rm_curve_table(&a, 0, t, gx) == 65 && fabsf(gx[0] + 4) < 1e-6f && fabsf(gx[64] - 4) < 1e-6f, "spline knots");
    /* ReLU model: one activation layer per block named mlp.1 */
    rm_model *r = NULL;
    rm_model_cfg rc = rm_model_default_cfg(RM_ACT_RELU, 16);
    CHECK_OK(rm_model_new(&ctx, &r, &rc, 4), &ctx);
    CHECK(rm_curve_nlayers(r) == 4, "relu: 4 layers");
    CHECK_OK(rm_curve_layer(&ctx, r, 3, "mlp.1", &a), &ctx);
    CHECK_OK(rm_curve_sample(&ctx, &a, 0, -1, 1, 3, 0, x, y), &ctx);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 1, "relu curve");
    rm_model_free(r); rm_model_free(b); rm_model_free(m);
    rm_dataset_free(&ds); rm_dataset_free(&sub);
    TEST_END();
}
