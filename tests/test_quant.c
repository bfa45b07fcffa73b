/* test_quant.c - the INT8 building blocks: quantiser round trips and rounding (half up, clamps, NaN),
 * shift requantisation against an int64 reference on random and extreme data, the 64-entry LUT
 * interpolation against an independent formula for all 256 codes, activation tables against the fp32
 * curve evaluated directly, folding invariance (fp32 output unchanged to 1e-5 for every activation kind),
 * calibration, and the quantised model file round trip (bit-identical integer network and float state). */
#include "tests/tutil.h"
#include "core/quant.h"
#include "core/quant_impl.h"
#include "core/lut.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* floor(v / 2^k + 1/2) in int64 */
static int64_t ref_round_shift(int64_t v, int k) {
    int64_t d = (int64_t)1 << k, n = v + d / 2;
    return n >= 0 ? n / d : -((-n + d - 1) / d);
}

static void test_quantiser(void) {
    CHECK(rm_q_code(2.5f, 1) == 3 && rm_q_code(-2.5f, 1) == -2 && rm_q_code(-2.51f, 1) == -3, "round half up");
    CHECK(rm_q_code(127.49f, 1) == 127 && rm_q_code(127.5f, 1) == 127 && rm_q_code(1e30f, 1) == 127, "clamp high");
    CHECK(rm_q_code(-128.5f, 1) == -128 && rm_q_code(-1e30f, 1) == -128 && rm_q_code(-INFINITY, 1) == -128, "clamp low");
    CHECK(rm_q_code(NAN, 1) == 0, "NaN -> 0");
    CHECK(rm_q_code(0.49999997f, 1) == 0, "no double rounding below one half");
    /* code -> value -> code is the identity for any scale */
    uint64_t rng = 7;
    int bad = 0;
    for (int it = 0; it < 2000; it++) {
        float A = 0.01f + 50 * rm_rng_uniform(&rng), s = rm_q_scale(A);
        for (int c = -128; c < 128; c++) bad += rm_q_code((float)c / s, s) != c;
    }
    CHECK(bad == 0, "code round trip through values: %d failures", bad);
    /* shift-tied weight scale: s_x * s_w / s_y == 2^k exactly in double */
    bad = 0;
    for (int it = 0; it < 1000; it++) {
        float sx = 1 + 100 * rm_rng_uniform(&rng), sy = 1 + 100 * rm_rng_uniform(&rng);
        int k = 1 + it % 20;
        double r = (double)sx * rm_q_wscale(sx, sy, k) / sy;
        bad += fabs(r / ldexp(1, k) - 1) > 1e-6;
    }
    CHECK(bad == 0, "s_x*s_w/s_y == 2^k: %d failures", bad);
}

static void test_requant(void) {
    uint64_t rng = 11;
    int bad = 0, badq = 0;
    const int32_t ext[] = {INT32_MIN, INT32_MIN + 1, -1073741824, -65536, -257, -256, -255, -129, -128, -127, -3, -2, -1,
                           0, 1, 2, 3, 127, 128, 255, 256, 257, 65535, 1073741823, INT32_MAX - 1, INT32_MAX};
    const int next = sizeof ext / sizeof ext[0];
    for (int it = 0; it < 400000; it++) {
        int32_t v = it < next * 30 ? ext[it % next] : (int32_t)rm_rng_next(&rng) >> (rm_rng_next(&rng) % 31);
        int k = it < next * 30 ? 1 + it / next : 1 + (int)(rm_rng_next(&rng) % 30);
        int64_t ref = ref_round_shift(v, k);
        bad += rm_rshift_round(v, k) != ref;
        int b = (int)(rm_rng_next(&rng) % 256) - 128;
        int64_t r = ref + b;
        r = r < -128 ? -128 : r > 127 ? 127 : r;
        badq += rm_requant(v, k, b) != r;
    }
    CHECK(bad == 0, "rounded shift vs int64 reference: %d failures", bad);
    CHECK(badq == 0, "requant (shift, bias, saturate) vs int64 reference: %d failures", badq);
    CHECK(rm_rshift_round(INT32_MAX, 1) == 1073741824 && rm_rshift_round(INT32_MIN, 1) == -1073741824, "extremes k=1");
    CHECK(rm_rshift_round(-3, 1) == -1 && rm_rshift_round(-1, 1) == 0 && rm_rshift_round(1, 1) == 1, "ties round up");
    CHECK(rm_pool_shift(64) == 6 && rm_pool_shift(49) == 6 && rm_pool_shift(45) == 5 && rm_pool_shift(2) == 1, "pool shift");
}

static void test_lut64(void) {
    uint64_t rng = 5;
    int bad = 0, badx = 0;
    for (int it = 0; it < 300; it++) {
        int8_t l256[256], l64[64], e[256];
        for (int u = 0; u < 256; u++) l256[u] = (int8_t)((int)(rm_rng_next(&rng) % 256) - 128);
        if (it == 0) for (int u = 0; u < 256; u++) l256[u] = (int8_t)(u & 1 ? 127 : -128);  /* extreme slopes */
        rm_lut_subsample64(l256, l64);
        for (int edge = 0; edge < RM_LUT_EDGE_N; edge++) {
            int8_t ee = rm_lut_edge_entry(l256, l64, edge);
            rm_lut64_expand(l64, ee, edge, e);
            /* the 65-entry table of the mode (entry 64 = edge entry), read by an independent formula */
            int l65[65];
            for (int i = 0; i < 64; i++) l65[i] = l64[i];
            /* extend: the last segment continued, unsaturated (9 bits); the result is saturated */
            l65[64] = edge == RM_LUT_EDGE_EXTEND ? 2 * l64[63] - l64[62] : edge == RM_LUT_EDGE_PAPER_HLS ? l256[254] : 0;
            for (int u = 0; u < 256; u++) {
                /* y = L[m] + floor((d*l + 2)/4), m = u/4 (clamp: min(u/4, 62)), l = u & 3 */
                int m = u / 4, l = u & 3;
                if (edge == RM_LUT_EDGE_CLAMP && m > 62) m = 62;
                int d = l65[m + 1] - l65[m], n = d * l + 2;
                int y = rm_sat8(l65[m] + (n >= 0 ? n / 4 : -((-n + 3) / 4)));
                bad += e[u] != y || rm_lut64_eval(l64, ee, edge, u - 128) != y;
                /* the kept points are exact (u = 252 too, except in clamp mode) */
                badx += u % 4 == 0 && (u < 252 || edge != RM_LUT_EDGE_CLAMP) && e[u] != l256[u];
            }
            /* clamp: u = 252..255 interpolate from L[62] */
            for (int u = 252; edge == RM_LUT_EDGE_CLAMP && u < 256; u++)
                badx += rm_lut64_eval(l64, ee, edge, u - 128) != l64[62] + (((((l64[63] - l64[62]) * (u & 3)) >> 1) + 1) >> 1);
        }
    }
    CHECK(bad == 0, "64-entry interpolation vs independent formula, all codes, all lut_edge modes: %d failures", bad);
    CHECK(badx == 0, "kept points exact and clamp-to-62 end segment: %d failures", badx);

    /* a hand-made curve with a knee: y = x/2 up to u = 240, then flat at 56 (a saturating activation);
     * in the top segment every mode reads the flat 56 except clamp (which reads u - 4: also 56 here) */
    int8_t knee[256], k64[64], ke[256];
    for (int u = 0; u < 256; u++) { int x = u - 128; knee[u] = (int8_t)(u < 240 ? x / 2 : 56); }
    rm_lut_subsample64(knee, k64);
    for (int edge = 0; edge < RM_LUT_EDGE_N; edge++) {
        rm_lut64_expand(k64, rm_lut_edge_entry(knee, k64, edge), edge, ke);
        CHECK(ke[252] == 56 && ke[253] == 56 && ke[255] == 56, "knee, %s: flat top (252: %d, 255: %d)", rm_lut_edge_name(edge), ke[252], ke[255]);
    }
    /* a curve steep at the top: y = 4(u - 224) for u >= 224 (0 below), saturating at 127 only past u = 255:
     * L256[248..255] = 96..124 step 4; extend continues the slope 4 per code: exact; paper_hls flattens
     * (entry 64 = L256[254] = 120: 112, 114, 116, 118); clamp reads u - 4 (96, 100, 104, 108) */
    int8_t steep[256], s64[64], se[256];
    for (int u = 0; u < 256; u++) steep[u] = (int8_t)(u < 224 ? 0 : 4 * (u - 224) > 127 ? 127 : 4 * (u - 224));
    rm_lut_subsample64(steep, s64);
    int want[3][4] = {{112, 116, 120, 124}, {112, 114, 116, 118}, {96, 100, 104, 108}};
    for (int edge = 0; edge < RM_LUT_EDGE_N; edge++) {
        rm_lut64_expand(s64, rm_lut_edge_entry(steep, s64, edge), edge, se);
        int ok = 1;
        for (int k = 0; k < 4; k++) ok &= se[252 + k] == want[edge][k];
        CHECK(ok, "steep top, %s: u = 252..255 read %d %d %d %d (want %d %d %d %d)", rm_lut_edge_name(edge), se[252], se[253],
              se[254], se[255], want[edge][0], want[edge][1], want[edge][2], want[edge][3]);
    }
    CHECK(rm_lut64_max_err(steep, RM_LUT_EDGE_EXTEND) == 0 && rm_lut64_max_err(steep, RM_LUT_EDGE_PAPER_HLS) == 6 &&
          rm_lut64_max_err(steep, RM_LUT_EDGE_CLAMP) == 16, "steep top: max error extend 0, paper_hls 6, clamp 16 (%d %d %d)",
          rm_lut64_max_err(steep, RM_LUT_EDGE_EXTEND), rm_lut64_max_err(steep, RM_LUT_EDGE_PAPER_HLS), rm_lut64_max_err(steep, RM_LUT_EDGE_CLAMP));
    /* a ramp: the modes differ on the top segment */
    int8_t ramp[256], r64[64], re[256];
    for (int u = 0; u < 256; u++) ramp[u] = (int8_t)(u - 128);
    rm_lut_subsample64(ramp, r64);
    /* extend: the identity is exact everywhere (the last segment extended is the identity, 127 at 255) */
    CHECK(rm_lut64_max_err(ramp, RM_LUT_EDGE_EXTEND) == 0, "identity, extend: exact (err %d)", rm_lut64_max_err(ramp, RM_LUT_EDGE_EXTEND));
    /* paper_hls: entry 64 = L256[254] = 126, so u = 252..255 read 124, 125, 125, 126: error 0,0,1,1 */
    rm_lut64_expand(r64, rm_lut_edge_entry(ramp, r64, RM_LUT_EDGE_PAPER_HLS), RM_LUT_EDGE_PAPER_HLS, re);
    CHECK(re[252] == 124 && re[253] == 125 && re[254] == 125 && re[255] == 126 && rm_lut64_max_err(ramp, RM_LUT_EDGE_PAPER_HLS) == 1,
          "identity, paper_hls: top segment 124 125 125 126 (got %d %d %d %d)", re[252], re[253], re[254], re[255]);
    /* clamp: u >= 252 read the values of u - 4 (error 4) */
    rm_lut64_expand(r64, 0, RM_LUT_EDGE_CLAMP, re);
    CHECK(re[252] == 120 && re[255] == 123 && rm_lut64_max_err(ramp, RM_LUT_EDGE_CLAMP) == 4,
          "identity, clamp: u >= 252 off by one segment (252: %d, err %d)", re[252], rm_lut64_max_err(ramp, RM_LUT_EDGE_CLAMP));
    CHECK(rm_lut_edge_from_name("paper_hls") == RM_LUT_EDGE_PAPER_HLS && rm_lut_edge_from_name("x") < 0 &&
          !strcmp(rm_lut_edge_name(RM_LUT_EDGE_EXTEND), "extend"), "lut_edge names");
}

/* a model with non-trivial BN statistics and LayerScales, so folding has something to do */
static rm_model *make_model(rm_ctx *ctx, int kind, int H, uint64_t seed) {
    rm_model_cfg cfg = rm_model_default_cfg(kind, H);
    rm_model *m = NULL;
    if (rm_model_new(ctx, &m, &cfg, seed)) return NULL;
    uint64_t r = seed * 31 + 1;
    for (int i = 0; i < m->ntensors; i++) {
        rm_ptensor *t = &m->tensors[i];
        float *p = m->mem + t->off;
        if (strstr(t->name, "bn.weight")) for (size_t j = 0; j < t->n; j++) p[j] = 0.5f + rm_rng_uniform(&r);
        if (strstr(t->name, "bn.bias") || strstr(t->name, "affine_2.bias")) for (size_t j = 0; j < t->n; j++) p[j] = rm_rng_uniform(&r) - 0.5f;
        if (strstr(t->name, "affine_2.weight")) for (size_t j = 0; j < t->n; j++) p[j] = rm_rng_uniform(&r) - 0.5f;
    }
    for (int i = 0; i < m->nbuftensors; i++) {
        rm_ptensor *t = &m->buftensors[i];
        float *p = m->bmem + t->off;
        int var = strstr(t->name, "running_var") != NULL;
        for (size_t j = 0; j < t->n; j++) p[j] = var ? 0.3f + 2 * rm_rng_uniform(&r) : 2 * rm_rng_uniform(&r) - 1;
    }
    rm_model_params_changed(m);
    return m;
}

static void test_fold(const rm_dataset *test) {
    rm_ctx ctx = {0};
    const int kinds[4] = {RM_ACT_RELU, RM_ACT_GELU, RM_ACT_LERP_PSA, RM_ACT_BSPLINE};
    const int B = 32;
    int idx[32], y[32];
    for (int i = 0; i < B; i++) idx[i] = i;
    float *x = malloc(sizeof(float) * B * 64 * 48);
    rm_make_batch(test, idx, B, 4, RM_AUG_NONE, 0, x, y);
    for (int ki = 0; ki < 4; ki++) {
        rm_model *m = make_model(&ctx, kinds[ki], 48, 3 + ki);
        rm_folded *f = NULL;
        CHECK(m != NULL, "model");
        if (!m) continue;
        CHECK_OK(rm_fold(&ctx, m, &f), &ctx);
        CHECK_OK(rm_model_forward(&ctx, m, x, B, 0, RM_FULL), &ctx);
        CHECK_OK(rm_folded_forward(&ctx, f, x, B, NULL), &ctx);
        double worst = 0, wstream = 0;
        for (int i = 0; i < B * 10; i++) {
            double d = fabs((double)m->c.logits[i] - f->logits[i]) / fmax(1.0, fabs(m->c.logits[i]));
            worst = d > worst ? d : worst;
        }
        for (int l = 0; l < m->cfg.L; l++)
            for (size_t i = 0; i < (size_t)B * 64 * 96; i++) {
                double a = m->c.xs[2 * l + 2][i], b = f->xs[2 * l + 2][i];
                double d = fabs(a - b) / fmax(1.0, fabs(a));
                wstream = d > wstream ? d : wstream;
            }
        printf("fold %-8s: max rel logit diff %.2e, stream %.2e\n", rm_act_name(kinds[ki]), worst, wstream);
        CHECK(worst <= 1e-5, "%s: folding changed the logits by %.3g", rm_act_name(kinds[ki]), worst);
        CHECK(wstream <= 1e-5, "%s: folding changed the stream by %.3g", rm_act_name(kinds[ki]), wstream);
        rm_folded_free(f);
        rm_model_free(m);
    }
    free(x);
}

/* tables against the fp32 curve computed directly with rm_act_curve, and the file round trip */
static void test_tables_and_file(const rm_dataset *train, const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_model *m = make_model(&ctx, RM_ACT_LERP_PSA, 32, 9);
    rm_folded *f = NULL;
    CHECK_OK(rm_fold(&ctx, m, &f), &ctx);
    rm_qmodel *q = NULL;
    CHECK_OK(rm_qmodel_new(&ctx, &q, f, 1, train), &ctx);
    if (!q) { rm_model_free(m); return; }
    rm_dataset calib = {0}, val = {0};
    CHECK_OK(rm_dataset_slice(&ctx, &calib, train, 0, 300), &ctx);
    CHECK_OK(rm_dataset_slice(&ctx, &val, train, 300, 200), &ctx);
    rm_calib_opts co = rm_calib_defaults();
    rm_calib_result cr;
    CHECK_OK(rm_quant_calibrate(&ctx, q, &calib, &val, &co, &cr), &ctx);
    printf("calibration: best percentile %.0f (acc %.3f), first %.3f last %.3f\n", cr.pct[cr.best], cr.acc[cr.best],
           cr.acc[0], cr.acc[cr.npct - 1]);
    CHECK(cr.npct == 13 && cr.acc[cr.best] >= cr.acc[0] && cr.acc[cr.best] >= cr.acc[cr.npct - 1], "percentile search");
    for (int qp = 0; qp < q->nq; qp++) CHECK(!q->qp_used[qp] || (q->A[qp] > 0 && isfinite(q->A[qp])), "A[%d] = %g", qp, q->A[qp]);

    /* every table entry == clamp(round(curve(x) * s_out)) with the curve evaluated directly */
    const rm_model_cfg *c = &q->f->cfg;
    int bad = 0;
    for (int l = 0; l < c->L; l++)
        for (int slot = 0; slot < 2; slot++) {
            int C = slot ? c->H : c->D;
            int8_t *lut = malloc((size_t)C * 256), *l64 = malloc((size_t)C * 64);
            float *work = malloc(sizeof(float) * 512 * C);
            int lut64 = q->lut64;
            q->lut64 = 0;
            rm_q_tables(q, l, slot, lut, l64, NULL, NULL, NULL, work);
            q->lut64 = lut64;
            float sin = rm_qmodel_scale(q, rm_qp_block(c->L, l, slot ? RM_QP_H : RM_QP_MID));
            float sout = rm_qmodel_scale(q, rm_qp_block(c->L, l, slot ? RM_QP_P2 : RM_QP_P1));
            for (int ch = 0; ch < C; ch++) {
                float xs[256], ys[256];
                for (int u = 0; u < 256; u++) {
                    float xv = (float)(u - 128) / sin;
                    xs[u] = slot ? xv : xv * q->f->mlp[l].in_w[ch] + q->f->mlp[l].in_b[ch];
                }
                rm_act_curve(&c->act, C, slot ? q->f->mlp[l].act2 : q->f->mlp[l].act1, ch, 0, xs, ys, 256);
                for (int u = 0; u < 256; u++) {
                    double r = floor((double)(ys[u] * sout) + 0.5);
                    int want = r < -128 ? -128 : r > 127 ? 127 : (int)r;
                    bad += lut[(size_t)ch * 256 + u] != want;
                }
                for (int i = 0; i < 64; i++) bad += l64[(size_t)ch * 64 + i] != lut[(size_t)ch * 256 + 4 * i];
            }
            free(lut); free(l64); free(work);
        }
    CHECK(bad == 0, "activation tables vs direct curve evaluation: %d mismatches", bad);
    float xs[256], yf[256], y2[256], y6[256];
    int e = rm_quant_curve(q, 1, 1, 3, xs, yf, y2, y6);
    CHECK(e >= 0 && xs[0] < 0 && xs[255] > 0, "curve for plots (64-entry error %d codes)", e);

    /* file round trip */
    char path[] = "/tmp/resmlp_qXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    rm_qnet *net = NULL, *net2 = NULL;
    rm_qmodel *q2 = NULL;
    CHECK_OK(rm_quant_export(&ctx, q, &net), &ctx);
    CHECK_OK(rm_qmodel_save(&ctx, path, q, net), &ctx);
    CHECK_OK(rm_qmodel_load(&ctx, path, &q2, &net2), &ctx);
    if (net && net2 && q2) {
        CHECK(net2->lut64 == net->lut64 && net2->pool_shift == net->pool_shift && !memcmp(net->pix_lut, net2->pix_lut, sizeof net->pix_lut),
              "network header round trip");
        int diff = memcmp(net->embed.w, net2->embed.w, (size_t)96 * 48) || memcmp(net->cls.w, net2->cls.w, 960);
        for (int l = 0; l < 4; l++) {
            diff |= memcmp(net->blk[l].fc1.w, net2->blk[l].fc1.w, (size_t)32 * 96) != 0;
            diff |= memcmp(net->blk[l].lut2, net2->blk[l].lut2, (size_t)32 * 256) != 0;
            diff |= memcmp(net->blk[l].lut1_64, net2->blk[l].lut1_64, (size_t)96 * 64) != 0;
            diff |= memcmp(net->blk[l].lin.k, net2->blk[l].lin.k, 64) != 0;
        }
        CHECK(!diff, "int8 tensors round trip");
        int kd = 0;
        for (int i = 0; i < q->nl; i++)
            kd |= memcmp(q->layer[i].k, q2->layer[i].k, sizeof(int) * q->layer[i].OC) | memcmp(q->layer[i].sw, q2->layer[i].sw, sizeof(float) * q->layer[i].OC);
        CHECK(!memcmp(q->A, q2->A, sizeof q->A) && !memcmp(q->f->mem, q2->f->mem, sizeof(float) * q->f->nparams) && !kd,
              "float state round trip");
        /* the reloaded float state exports the same network, and runs to the same logits */
        rm_qnet *net3 = NULL;
        CHECK_OK(rm_quant_export(&ctx, q2, &net3), &ctx);
        int8_t z1[200 * 10], z2[200 * 10], z3[200 * 10];
        CHECK_OK(rm_ie_run(&ctx, net, RM_IE_AUTO, test->pixels, 200, z1, NULL), &ctx);
        CHECK_OK(rm_ie_run(&ctx, net2, RM_IE_AUTO, test->pixels, 200, z2, NULL), &ctx);
        CHECK_OK(rm_ie_run(&ctx, net3, RM_IE_AUTO, test->pixels, 200, z3, NULL), &ctx);
        CHECK(!memcmp(z1, z2, sizeof z1) && !memcmp(z1, z3, sizeof z1), "reloaded networks give identical logits");
        rm_verify_report rep;
        CHECK_OK(rm_quant_verify(&ctx, q2, net2, test, 100, RM_IE_AUTO, 20, &rep), &ctx);
        CHECK(rep.block_mismatch == 0 && rep.logit_mismatch_images == 0 && rep.int_correct == rep.fq_correct,
              "verify after reload: %ld stream mismatches", rep.block_mismatch);
        char txt[8192];
        int len = rm_quant_verify_text(&rep, txt, sizeof txt);
        CHECK(len > 200 && strstr(txt, "bit-exact") && strstr(txt, "layers.3.mlp.linear_2"), "verify text");
        printf("%s", txt);
        rm_qnet_free(net3);
    }
    /* a corrupt file is rejected with a message */
    FILE *fp = fopen(path, "r+b");
    if (fp) { fseek(fp, 9, SEEK_SET); fputc('#', fp); fclose(fp); }
    rm_qmodel *q3 = NULL;
    CHECK(rm_qmodel_load(&ctx, path, &q3, NULL) == RM_ERR && ctx.msg[0], "corrupt file rejected: %s", ctx.msg);
    unlink(path);
    rm_qnet_free(net); rm_qnet_free(net2);
    rm_qmodel_free(q2);
    rm_qmodel_free(q);
    rm_model_free(m);
    rm_dataset_free(&calib); rm_dataset_free(&val);
}

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    test_quantiser();
    test_requant();
    test_lut64();
    rm_dataset train = {0}, test = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &train, DATA_DIR "/cifar-10-batches-bin/data_batch_1.bin", NULL), &ctx);
    CHECK_OK(rm_cifar10_load(&ctx, &test, DATA_DIR "/cifar-10-batches-bin", "test"), &ctx);
    if (train.n && test.n) {
        test_fold(&test);
        test_tables_and_file(&train, &test);
    }
    rm_dataset_free(&train);
    rm_dataset_free(&test);
    TEST_END();
}
