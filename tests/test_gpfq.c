/* test_gpfq.c - GPFQ and MSQ: hand-checked walks on tiny layers (X~ = X, X~ != X, a zero column), the Gram
 * walk equals the direct walk over u, GPFQ never worse than MSQ on ||Xw - X~q|| on random data, the
 * ternary alphabet exactly {-rad, 0, rad}, and whole-model quantisation of a layer-list net and a small
 * ResMLP (every Linear on its alphabet, results independent of the streaming chunk size). */
#include "tests/tutil.h"
#include "tests/tmodels.h"
#include "core/gpfq.h"
#include "core/net.h"
#include <stdlib.h>
#include <string.h>

/* G1 = Xq^T X, G2 = Xq^T Xq in double, X (m,N) */
static void grams(double *G1, double *G2, const float *X, const float *Xq, int m, int N) {
    for (int t = 0; t < N; t++)
        for (int s = 0; s < N; s++) {
            double a = 0, b = 0;
            for (int i = 0; i < m; i++) {
                a += (double)Xq[i * N + t] * X[i * N + s];
                b += (double)Xq[i * N + t] * Xq[i * N + s];
            }
            G1[t * N + s] = a; G2[t * N + s] = b;
        }
}
static double err(const float *w, const float *q, const float *X, const float *Xq, int m, int N) {
    double e = 0;
    for (int i = 0; i < m; i++) {
        double d = 0;
        for (int t = 0; t < N; t++) d += (double)w[t] * X[i * N + t] - (double)q[t] * Xq[i * N + t];
        e += d * d;
    }
    return sqrt(e);
}

static void tiny(rm_ctx *ctx, const float *X, const float *Xq, float rad, float e0, float e1, const char *what) {
    float w[2] = {0.3f, 0.4f}, q[2], g[2];
    double u[2], G1[4], G2[4];
    rm_gpfq_neuron_naive(q, w, X, Xq, 2, 2, 3, rad, u);
    CHECK(q[0] == e0 && q[1] == e1, "%s: direct walk q = (%g, %g), by hand (%g, %g)", what, q[0], q[1], e0, e1);
    grams(G1, G2, X, Xq, 2, 2);
    CHECK_OK(rm_gpfq_gram(ctx, g, w, 1, 2, G1, G2, 3, rad), ctx);
    CHECK(g[0] == e0 && g[1] == e1, "%s: Gram walk q = (%g, %g), by hand (%g, %g)", what, g[0], g[1], e0, e1);
}

static int on_alphabet(const float *w, size_t n, int levels, float rad) {
    float a[256];
    rm_alphabet(a, levels, rad);
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (int k = 0; k < levels; k++) ok |= w[i] == a[k];
        if (!ok) return 0;
    }
    return 1;
}

/* a tabular data set of n samples with f features drawn from seed (ReLU-friendly: mixed signs) */
static void tab(rm_dataset *d, int n, int f, int classes, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n; d->c = f; d->h = d->w = 1; d->nclass = classes;
    d->feat = malloc(sizeof(float) * n * f);
    d->labels = malloc(n);
    for (int i = 0; i < n * f; i++) d->feat[i] = rm_rng_normal(&seed);
    for (int i = 0; i < n; i++) d->labels[i] = (uint8_t)(i % classes);
    snprintf(d->name, sizeof d->name, "random");
}

static void whole_model(rm_ctx *ctx, rm_model *fp, const rm_dataset *d, const char *what) {
    rm_model *q = NULL, *q2 = NULL;
    CHECK_OK(rm_model_new_like(ctx, &q, fp, 7), ctx);
    CHECK_OK(rm_model_new_like(ctx, &q2, fp, 7), ctx);
    if (!q || !q2) return;
    rm_gpfq_opts o = rm_gpfq_defaults();
    o.levels = 3; o.scalar = 2; o.samples = 0; o.chunk = 64;
    static rm_gpfq_report r, r2;
    CHECK_OK(rm_gpfq_quantize(ctx, q, fp, d, &o, &r), ctx);
    o.chunk = 13;
    CHECK_OK(rm_gpfq_quantize(ctx, q2, fp, d, &o, &r2), ctx);
    rm_wlayer wl[RM_MAX_WLAYERS];
    int nl = rm_wlayers(fp, wl, RM_MAX_WLAYERS);
    CHECK(r.n == nl && nl > 0, "%s: %d layers reported of %d", what, r.n, nl);
    int all_on = 1, measured = 1;
    size_t diff = 0, total = 0;
    for (int i = 0; i < nl; i++) {
        size_t n = (size_t)wl[i].rows * wl[i].cols;
        float *w = rm_wlayer_w(q, &wl[i]), *w2 = rm_wlayer_w(q2, &wl[i]);
        all_on &= on_alphabet(w, n, 3, r.l[i].rad) && r.l[i].rad > 0;
        measured &= r.l[i].err >= 0 && r.l[i].err_msq >= 0 && isfinite(r.l[i].err) && isfinite(r.l[i].err_msq);
        for (size_t j = 0; j < n; j++) diff += w[j] != w2[j];
        total += n;
    }
    CHECK(all_on, "%s: every weight of every Linear on its layer's ternary alphabet", what);
    CHECK(measured, "%s: every layer reports finite calibration errors for GPFQ and MSQ", what);
    CHECK(diff * 1000 <= total, "%s: chunk 64 vs 13 differ in %zu of %zu weights", what, diff, total);
    rm_model_free(q); rm_model_free(q2);
}

/* a tiny CNN: conv layers are Linears over im2col patches. The first conv's reported error (X~ = X there)
 * equals the one its outputs show directly: ||conv_w(x) - conv_q(x)|| / ||conv_w(x) - b|| over the
 * calibration images (checks the patch order against the model's own conv); GPFQ never worse than MSQ on
 * any layer's calibration objective; every conv weight on its alphabet. */
static void cnn(rm_ctx *ctx) {
    rm_dataset im;
    t_random_images(&im, 64);
    rm_model *fp = NULL, *q = NULL;
    CHECK_OK(rm_model_new_net(ctx, &fp, "input=1x8x8 conv(4,pad=1) relu conv(6,k=3,stride=2) bn relu conv(5,k=2,pad=1) relu linear(4)", 3), ctx);
    CHECK_OK(rm_model_new_like(ctx, &q, fp, 7), ctx);
    if (!fp || !q) { rm_model_free(fp); rm_model_free(q); rm_dataset_free(&im); return; }
    whole_model(ctx, fp, &im, "cnn");
    for (int lv = 0; lv < 3; lv++) {
        int levels = lv == 0 ? 3 : lv == 1 ? 4 : 16;
        rm_gpfq_opts o = rm_gpfq_defaults();
        o.levels = levels; o.scalar = 2; o.samples = 0; o.chunk = 20;
        static rm_gpfq_report r;
        CHECK_OK(rm_gpfq_quantize(ctx, q, fp, &im, &o, &r), ctx);
        int ok = r.n == 4;
        for (int i = 0; i < r.n; i++) {
            ok &= !r.l[i].skipped && r.l[i].err >= 0 && r.l[i].err <= r.l[i].err_msq + 1e-9;
            printf("cnn %d levels: %-9s (%d x %d) GPFQ %.4f MSQ %.4f\n", levels, r.l[i].label, r.l[i].rows, r.l[i].cols, r.l[i].err, r.l[i].err_msq);
        }
        CHECK(ok, "cnn, %d levels: every layer (3 conv, 1 linear) quantised, GPFQ calibration error <= MSQ's", levels);
        /* the first conv's error from its outputs */
        int B = im.n, y[64];
        float *x = malloc(sizeof(float) * B * 64);
        int idx[64];
        for (int i = 0; i < B; i++) idx[i] = i;
        rm_wlayer_batch(fp, &im, idx, B, x, y);
        CHECK_OK(rm_net_forward_upto(ctx, fp, x, B, 0, 1), ctx);
        CHECK_OK(rm_net_forward_upto(ctx, q, x, B, 0, 1), ctx);
        int c, h, w, sp;
        const float *of = rm_net_output(fp, 0, &c, &h, &w, &sp), *oq = rm_net_output(q, 0, NULL, NULL, NULL, NULL);
        const float *bias = rm_model_tensor_data(fp, "layers.0.bias", NULL);
        double e = 0, n2 = 0;
        for (size_t i = 0; i < (size_t)B * c * h * w; i++) {
            size_t j = i % ((size_t)c * h * w);
            int ch = sp ? (int)(j % c) : (int)(j / ((size_t)h * w));
            double d = (double)of[i] - oq[i], v = (double)of[i] - (bias ? bias[ch] : 0);
            e += d * d; n2 += v * v;
        }
        double direct = sqrt(e / n2);
        CHECK(fabs(direct - r.l[0].err) <= 1e-3 * direct + 1e-6, "cnn %d levels: conv 0 error from the Grams %.6f = from its outputs %.6f", levels, r.l[0].err, direct);
        free(x);
    }
    rm_model_free(fp); rm_model_free(q);
    rm_dataset_free(&im);
}

int main(void) {
    rm_ctx ctx = {0};
    /* ---- hand-checked tiny layers (X rows are samples) ---- */
    float X[4] = {1, 0, 1, 1};
    tiny(&ctx, X, X, 1.0f, 0.0f, 1.0f, "X~ = X, rad 1");
    float Xq[4] = {2, 0, 0, 1};
    tiny(&ctx, X, Xq, 0.5f, 0.0f, 0.5f, "X~ != X, rad 0.5");
    float Xz[4] = {0, 0, 0, 1};
    tiny(&ctx, X, Xz, 0.5f, 0.5f, 0.5f, "zero column falls back to rounding");

    /* ---- alphabet ---- */
    float a[256];
    float rads[] = {1.0f, 0.0371f, 3.3f, 1e-3f};
    for (int i = 0; i < 4; i++) {
        rm_alphabet(a, 3, rads[i]);
        CHECK(a[0] == -rads[i] && a[1] == 0.0f && a[2] == rads[i], "ternary alphabet for rad %g: {%g, %g, %g}", rads[i], a[0], a[1], a[2]);
        uint64_t s = 5 + i;
        int ok = 1;
        for (int k = 0; k < 1000; k++) {
            float v = rm_alphabet_round(3 * rads[i] * rm_rng_normal(&s), 3, rads[i]);
            ok &= v == -rads[i] || v == 0.0f || v == rads[i];
        }
        CHECK(ok, "ternary rounding only returns -rad, 0, rad (rad %g)", rads[i]);
    }
    CHECK(rm_levels_parse("ternary") == 3 && rm_levels_parse("2") == 4 && rm_levels_parse("4") == 16 &&
          rm_levels_parse("x") == -1 && rm_levels_parse("0") == -1, "bits parse");
    rm_alphabet(a, 4, 1.5f);
    CHECK(t_close(a[0], -1.5, 1e-7, 0) && t_close(a[1], -0.5, 1e-7, 0) && t_close(a[2], 0.5, 1e-7, 0) && a[3] == 1.5f,
          "2-bit alphabet = 1.5 * linspace(-1,1,4)");
    CHECK(rm_alphabet_round(0.2, 3, 1) == 0 && rm_alphabet_round(0.6, 3, 1) == 1 && rm_alphabet_round(-7, 3, 1) == -1 &&
          rm_alphabet_round(9, 16, 1) == 1, "rounding to nearest and clamping");
    float med[] = {-3, 1, 2, -4};
    CHECK(rm_median_abs(med, 4) == 2.5f && rm_median_abs(med, 3) == 2.0f, "median |w|");

    /* ---- random layers: Gram walk == direct walk; GPFQ <= MSQ per neuron ---- */
    int m = 64, N = 256, rows = 16;   /* N > m: the regime GPFQ's error bound is about */
    float *Xr = malloc(sizeof(float) * m * N), *Xn = malloc(sizeof(float) * m * N), *W = malloc(sizeof(float) * rows * N);
    float *Qd = malloc(sizeof(float) * rows * N), *Qg = malloc(sizeof(float) * rows * N), *Qm = malloc(sizeof(float) * rows * N);
    double *u = malloc(sizeof(double) * m), *G1 = malloc(sizeof(double) * N * N), *G2 = malloc(sizeof(double) * N * N);
    int levels[] = {3, 4, 8, 16};
    for (int trial = 0; trial < 8; trial++) {
        uint64_t s = 100 + trial;
        for (int i = 0; i < m * N; i++) {
            float v = rm_rng_normal(&s);
            Xr[i] = trial % 2 ? fmaxf(v, 0) : v;                          /* ReLU-like inputs in odd trials */
            Xn[i] = Xr[i] + (trial >= 4 ? 0.2f * rm_rng_normal(&s) : 0);   /* X~ = X + noise in later trials */
        }
        for (int i = 0; i < rows * N; i++) W[i] = 0.1f * rm_rng_normal(&s);
        int L = levels[trial % 4];
        float rad = 2 * rm_median_abs(W, rows * N);
        grams(G1, G2, Xr, Xn, m, N);
        CHECK_OK(rm_gpfq_gram(&ctx, Qg, W, rows, N, G1, G2, L, rad), &ctx);
        rm_msq(Qm, W, (size_t)rows * N, L, rad);
        int same = 1, worse = 0;
        for (int r = 0; r < rows; r++) {
            rm_gpfq_neuron_naive(Qd + r * N, W + r * N, Xr, Xn, m, N, L, rad, u);
            same &= !memcmp(Qd + r * N, Qg + r * N, sizeof(float) * N);
            double eg = err(W + r * N, Qg + r * N, Xr, Xn, m, N), em = err(W + r * N, Qm + r * N, Xr, Xn, m, N);
            if (eg > em) { worse++; fprintf(stderr, "  trial %d row %d: gpfq %.4f > msq %.4f\n", trial, r, eg, em); }
        }
        CHECK(same, "trial %d (%d levels): Gram walk equals the direct walk over u", trial, L);
        CHECK(worse == 0, "trial %d (%d levels): GPFQ worse than MSQ on %d of %d neurons", trial, L, worse, rows);
        CHECK(on_alphabet(Qg, (size_t)rows * N, L, rad), "trial %d: GPFQ output on the alphabet", trial);
        /* the error formula from Grams (G0 = X^T X) matches the direct one */
        double *G0 = malloc(sizeof(double) * N * N), e2[16], ref2[16];
        double *g1b = malloc(sizeof(double) * N * N), *g2b = malloc(sizeof(double) * N * N);
        grams(g1b, g2b, Xr, Xr, m, N);
        memcpy(G0, g2b, sizeof(double) * N * N);
        CHECK_OK(rm_gpfq_err(&ctx, e2, ref2, W, Qg, rows, N, G0, G1, G2), &ctx);
        CHECK(t_close(sqrt(e2[3]), err(W + 3 * N, Qg + 3 * N, Xr, Xn, m, N), 1e-3, 1e-6), "trial %d: Gram error formula %.6g vs direct %.6g", trial, sqrt(e2[3]), err(W + 3 * N, Qg + 3 * N, Xr, Xn, m, N));
        free(g1b); free(g2b); free(G0);
    }

    /* ---- whole models: a layer-list MLP and a small ResMLP ---- */
    rm_dataset d;
    tab(&d, 300, 12, 3, 11);
    rm_model *net = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &net, "input=12 linear(20) relu linear(16) bn relu linear(3)", 3), &ctx);
    if (net) whole_model(&ctx, net, &d, "mlp");
    rm_model_free(net);
    rm_dataset_free(&d);

    cnn(&ctx);
    rm_dataset im;
    t_random_images(&im, 64);
    for (int act = 0; act < 2; act++) {
        rm_model_cfg c = t_tiny_resmlp_cfg(act);
        rm_model *rm = NULL;
        CHECK_OK(rm_model_new(&ctx, &rm, &c, 5), &ctx);
        if (rm) whole_model(&ctx, rm, &im, act ? "resmlp lerp_psa" : "resmlp relu");
        rm_model_free(rm);
    }
    rm_dataset_free(&im);
    free(Xr); free(Xn); free(W); free(Qd); free(Qg); free(Qm); free(u); free(G1); free(G2);
    TEST_END();
}
