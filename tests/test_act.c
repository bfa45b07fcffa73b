/* test_act.c - the learned activations (core/act_psa.c, core/act_bspline.c): forward against a naive
 * double-precision reference, analytic gradients (x and every parameter, through the LERP table)
 * against central differences of that reference, end-segment extrapolation, table = ResPSA at the
 * grid, LERP -> ResPSA as the grid refines, TV2, bitwise equality with 1 and 2 threads, and the
 * PyTorch fixture tests/fixtures/act_fixtures.safetensors. Loss for gradients: L = sum(y * r). */
#include "act.h"
#include "safetensors.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- double-precision reference */

static double ref_respsa(const rm_act_cfg *cfg, int C, const double *P, int c, double x) {
    const int E = cfg->E;
    const size_t CE = (size_t)C * E;
    const double *v = P + (size_t)c * E, *w = P + CE + (size_t)c * E, *b = P + 2 * CE + (size_t)c * E;
    double l[64], mx = -INFINITY, Z = 0, sv = 0;
    for (int k = 0; k < E; k++) {
        l[k] = -(x - b[k]) * (x - b[k]) / (w[k] * w[k] + cfg->eps);
        mx = fmax(mx, l[k]);
    }
    for (int k = 0; k < E; k++) { l[k] = exp(l[k] - mx); Z += l[k]; sv += l[k] * v[k]; }
    return x + P[3 * CE + c] * (sv / Z) * x + P[3 * CE + C + c];
}
static double ref_lerp(const double *T, int G, double s, double o, double x) {
    double t = x * s + o, fl = fmin(fmax(floor(t), 0), G - 2);
    int i = (int)fl;
    return T[i] + (t - fl) * (T[i + 1] - T[i]);
}
static double lerp_s(const rm_act_cfg *cfg) { return (cfg->G - 1) / (2.0 * cfg->R); }
static double bs_s(const rm_act_cfg *cfg) { return 1.0 / cfg->spacing; }

/* reference evaluator: for LERP-PSA the double table T (C,G) is built from P */
typedef struct ref { const rm_act_cfg *cfg; int C; const double *P; double *T; } ref;
static void ref_build(ref *R) {
    const rm_act_cfg *cfg = R->cfg;
    if (cfg->kind != RM_ACT_LERP_PSA) return;
    for (int c = 0; c < R->C; c++)
        for (int j = 0; j < cfg->G; j++)
            R->T[(size_t)c * cfg->G + j] = ref_respsa(cfg, R->C, R->P, c, -cfg->R + j * 2.0 * cfg->R / (cfg->G - 1));
}
static double ref_elem(const ref *R, int c, double x) {
    const rm_act_cfg *cfg = R->cfg;
    switch (cfg->kind) {
    case RM_ACT_PSA: return ref_respsa(cfg, R->C, R->P, c, x);
    case RM_ACT_LERP_PSA: return ref_lerp(R->T + (size_t)c * cfg->G, cfg->G, lerp_s(cfg), 0.5 * (cfg->G - 1), x);
    default: return ref_lerp(R->P + (size_t)c * cfg->K, cfg->K, bs_s(cfg), 0.5 * (cfg->K - 1), x);
    }
}
static double ref_loss(ref *R, const float *x, const float *r, int N) {
    ref_build(R);
    double L = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < R->C; c++) L += r[(size_t)n * R->C + c] * ref_elem(R, c, x[(size_t)n * R->C + c]);
    return L;
}

/* ---------------------------------------------------------------- helpers */

static float *falloc(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* PSA parameters away from init so every term matters: v N(0,4^2), w 1+0.3n, b U(-1,1), o_w 1+0.2n, o_b 0.1n */
static void psa_params(int C, int E, float *p, uint64_t *rng) {
    size_t CE = (size_t)C * E;
    for (size_t i = 0; i < CE; i++) {
        p[i] = 4 * rm_rng_normal(rng);
        p[CE + i] = 1 + 0.3f * rm_rng_normal(rng);
        p[2 * CE + i] = 2 * rm_rng_uniform(rng) - 1;
    }
    for (int c = 0; c < C; c++) { p[3 * CE + c] = 1 + 0.2f * rm_rng_normal(rng); p[3 * CE + C + c] = 0.1f * rm_rng_normal(rng); }
}
/* inputs: half N(0,2^2), half U(-lim,lim); if s > 0, none within 0.05 of a grid point of t = x*s */
static void gen_x(float *x, size_t n, float lim, double s, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) {
        for (;;) {
            float v = (i & 1) ? 2 * rm_rng_normal(rng) : lim * (2 * rm_rng_uniform(rng) - 1);
            double t = v * s;
            if (s > 0 && fabs(t - round(t)) < 0.05) continue;
            x[i] = v;
            break;
        }
    }
}
static double maxabs(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* ---------------------------------------------------------------- gradient checks */

/* forward vs reference, dx and every parameter gradient of L = sum(y*r) vs central differences */
static void check_grads(const char *what, const rm_act_cfg *cfg, int C, const float *p, int N, uint64_t *rng) {
    const size_t n = (size_t)N * C, np = rm_act_nparams(cfg, C);
    const double s = cfg->kind == RM_ACT_LERP_PSA ? lerp_s(cfg) : cfg->kind == RM_ACT_BSPLINE ? bs_s(cfg) : 0;
    float *x = falloc(n), *r = falloc(n), *y = falloc(n), *dx = falloc(n), *dx2 = falloc(n), *dp = falloc(np);
    float *work = falloc(rm_act_worksize(cfg, C, 2));
    double *P = malloc(sizeof(double) * np), *T = malloc(sizeof(double) * (size_t)C * cfg->G);
    double *yd = malloc(sizeof(double) * n), *fdp = malloc(sizeof(double) * np), *fdx = malloc(sizeof(double) * n);
    /* odd grid offsets (G-1)/2 are multiples of 1/2: keep t = x*s + o away from integers */
    double off = cfg->kind == RM_ACT_LERP_PSA ? 0.5 * (cfg->G - 1) : cfg->kind == RM_ACT_BSPLINE ? 0.5 * (cfg->K - 1) : 0;
    gen_x(x, n, cfg->kind == RM_ACT_LERP_PSA ? 1.75f * cfg->R : 6.0f, s, rng);
    if (off != round(off)) for (size_t i = 0; i < n; i++) x[i] += (float)(0.5 / s); /* shift by half a cell */
    for (size_t i = 0; i < n; i++) r[i] = rm_rng_normal(rng);
    for (size_t i = 0; i < np; i++) P[i] = p[i];
    ref R = {cfg, C, P, T};
    ref_build(&R);

    /* forward */
    rm_act_prepare(cfg, C, p, work);
    rm_act_forward(cfg, C, p, work, x, y, N);
    for (size_t i = 0; i < n; i++) yd[i] = ref_elem(&R, (int)(i % C), x[i]);
    double ys = maxabs(yd, n), ey = 0;
    int outside = 0;
    for (size_t i = 0; i < n; i++) {
        /* floor 1e-6 of the scale: the float table's rounding grows with extrapolation distance */
        ey = fmax(ey, fabs(y[i] - yd[i]) / (fabs(yd[i]) + 0.05 * ys));
        if (fabs(x[i]) > 4) outside++;
    }
    CHECK(ey < 2e-5, "%s forward vs double reference: max rel err %.3g", what, ey);
    CHECK(cfg->kind == RM_ACT_PSA || outside > 0, "%s: test inputs never leave [-4,4]", what);

    /* backward: dx overwritten (prefilled with NaN), dp accumulated */
    for (size_t i = 0; i < n; i++) dx[i] = NAN;
    rm_act_backward(cfg, C, p, work, x, r, dx, dp, N);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % C);
        double h = 1e-6 * fmax(1, fabs(x[i]));
        fdx[i] = r[i] * (ref_elem(&R, c, x[i] + h) - ref_elem(&R, c, x[i] - h)) / (2 * h);
    }
    double xs = maxabs(fdx, n), ex = 0;
    for (size_t i = 0; i < n; i++) ex = fmax(ex, fabs(dx[i] - fdx[i]) / (fabs(fdx[i]) + 1e-3 * xs));
    CHECK(ex < 1e-3, "%s dx vs finite differences: max rel err %.3g", what, ex);

    for (size_t i = 0; i < np; i++) {
        double p0 = P[i], h = 1e-6 * fmax(1, fabs(p0));
        P[i] = p0 + h; double lp = ref_loss(&R, x, r, N);
        P[i] = p0 - h; double lm = ref_loss(&R, x, r, N);
        P[i] = p0;
        fdp[i] = (lp - lm) / (2 * h);
    }
    for (int t = 0; t < rm_act_ntensors(cfg); t++) {
        const char *suf; int nd; int64_t sh[2]; size_t off0;
        rm_act_tensor(cfg, C, t, &suf, &nd, sh, &off0);
        size_t cnt = (size_t)sh[0] * (nd == 2 ? sh[1] : 1);
        double gs = maxabs(fdp + off0, cnt), eg = 0;
        for (size_t i = off0; i < off0 + cnt; i++) eg = fmax(eg, fabs(dp[i] - fdp[i]) / (fabs(fdp[i]) + 1e-3 * gs));
        CHECK(gs > 0 && eg < 2e-3, "%s d%s vs finite differences: max rel err %.3g (scale %.3g)", what, suf, eg, gs);
    }

    /* a second backward adds the same gradient again and rewrites dx identically */
    float *dp1 = falloc(np);
    memcpy(dp1, dp, sizeof(float) * np);
    for (size_t i = 0; i < n; i++) dx2[i] = 12345.0f;
    rm_act_backward(cfg, C, p, work, x, r, dx2, dp, N);
    int same = memcmp(dx, dx2, sizeof(float) * n) == 0, twice = 1;
    for (size_t i = 0; i < np; i++) twice &= dp[i] == 2 * dp1[i];
    CHECK(same, "%s: dx not overwritten identically", what);
    CHECK(twice, "%s: parameter gradients not accumulated (+=)", what);
    free(dp1);
    free(x); free(r); free(y); free(dx); free(dx2); free(dp); free(work);
    free(P); free(T); free(yd); free(fdp); free(fdx);
}

static void test_grads(void) {
    uint64_t rng = 11;
    const int C = 21; /* one full 16-channel vector plus a masked tail */
    rm_act_cfg psa = rm_act_default(RM_ACT_PSA), lerp = rm_act_default(RM_ACT_LERP_PSA);
    rm_act_cfg bs = rm_act_default(RM_ACT_BSPLINE);
    float *p = falloc(rm_act_nparams(&psa, C));
    psa_params(C, psa.E, p, &rng);
    check_grads("ResPSA", &psa, C, p, 40, &rng);
    check_grads("LERP-PSA", &lerp, C, p, 60, &rng);
    lerp.G = 33; lerp.R = 3; /* other grid: odd cell offset, other range */
    check_grads("LERP-PSA G=33 R=3", &lerp, C, p, 60, &rng);
    free(p);
    float *q = falloc(rm_act_nparams(&bs, C));
    rm_act_init(&bs, C, q, &rng);
    for (size_t i = 0; i < rm_act_nparams(&bs, C); i++) q[i] += 0.05f * rm_rng_normal(&rng);
    check_grads("B-spline", &bs, C, q, 60, &rng);
    free(q);
}

/* ---------------------------------------------------------------- counts, init */

static void test_counts_init(void) {
    rm_act_cfg psa = rm_act_default(RM_ACT_PSA), lerp = rm_act_default(RM_ACT_LERP_PSA), bs = rm_act_default(RM_ACT_BSPLINE);
    CHECK(rm_act_nparams(&psa, 96) == 26 * 96, "psa nparams %zu", rm_act_nparams(&psa, 96));
    CHECK(rm_act_nparams(&lerp, 7) == 26 * 7, "lerp nparams %zu", rm_act_nparams(&lerp, 7));
    CHECK(rm_act_nparams(&bs, 96) == 65 * 96, "bspline nparams %zu", rm_act_nparams(&bs, 96));
    /* ResMLP h=96: 4 blocks x (ResPSA(96) + ResPSA(96)) = 8*96*26 extra over ReLU: 120,042 - 100,074 */
    CHECK(8 * rm_act_nparams(&lerp, 96) == 120042 - 100074, "LERP-PSA model delta");
    CHECK(8 * rm_act_nparams(&bs, 96) == 149994 - 100074, "B-spline model delta");

    const int C = 384, E = 8;
    size_t CE = (size_t)C * E;
    float *p = falloc(rm_act_nparams(&lerp, C));
    uint64_t rng = 5;
    rm_act_init(&lerp, C, p, &rng);
    double m = 0, v = 0, bmin = 1, bmax = -1;
    int ok = 1;
    for (size_t i = 0; i < CE; i++) { m += p[i]; v += (double)p[i] * p[i]; }
    m /= CE; v = v / CE - m * m;
    for (size_t i = 0; i < CE; i++) { ok &= p[CE + i] == 1.0f; bmin = fmin(bmin, p[2 * CE + i]); bmax = fmax(bmax, p[2 * CE + i]); }
    for (int c = 0; c < C; c++) ok &= p[3 * CE + c] == 1.0f && p[3 * CE + C + c] == 0.0f;
    CHECK(fabs(m) < 0.3 && fabs(sqrt(v) - 4) < 0.3, "psa v init mean %g std %g, want 0, 4", m, sqrt(v));
    CHECK(ok, "psa init: w = 1, o_w = 1, o_b = 0");
    CHECK(bmin >= -1 && bmax < 1 && bmin < -0.9 && bmax > 0.9, "psa b init range [%g, %g]", bmin, bmax);
    free(p);

    float *q = falloc(rm_act_nparams(&bs, 3));
    rm_act_init(&bs, 3, q, &rng);
    CHECK(q[0] == -0.04f && q[32] == 0 && q[64] == 4.0f && q[65 + 31] == -0.00125f && q[2 * 65 + 40] == 1.0f,
          "bspline init leaky_relu(knot): %g %g %g %g %g", q[0], q[32], q[64], q[65 + 31], q[2 * 65 + 40]);
    free(q);
}

/* ---------------------------------------------------------------- tables, extrapolation, curves */

static void test_tables(void) {
    const int C = 19, G = 64;
    rm_act_cfg lerp = rm_act_default(RM_ACT_LERP_PSA);
    uint64_t rng = 21;
    float *p = falloc(rm_act_nparams(&lerp, C)), *work = falloc(rm_act_worksize(&lerp, C, 2));
    psa_params(C, lerp.E, p, &rng);
    double *P = malloc(sizeof(double) * rm_act_nparams(&lerp, C));
    for (size_t i = 0; i < rm_act_nparams(&lerp, C); i++) P[i] = p[i];

    /* table == ResPSA at the grid: float curve(which=1) and double reference */
    float T[64], gx[64], gy[64];
    CHECK(rm_act_table(&lerp, C, p, 7, T) == G, "table size");
    for (int j = 0; j < G; j++) gx[j] = (float)(-4.0 + j * 8.0 / 63);
    rm_act_curve(&lerp, C, p, 7, 1, gx, gy, G);
    double e1 = 0, e2 = 0;
    for (int j = 0; j < G; j++) {
        e1 = fmax(e1, fabs(T[j] - gy[j]) / (1 + fabs(gy[j])));
        e2 = fmax(e2, fabs(T[j] - ref_respsa(&lerp, C, P, 7, -4.0 + j * 8.0 / 63)) / (1 + fabs(T[j])));
    }
    CHECK(e1 < 1e-6 && e2 < 1e-5, "table vs ResPSA at grid: float %.3g, double %.3g", e1, e2);
    /* LERP through a grid point returns the table value */
    float gl[64];
    rm_act_curve(&lerp, C, p, 7, 0, gx, gl, G);
    double e3 = 0;
    for (int j = 0; j < G; j++) e3 = fmax(e3, fabs(gl[j] - T[j]) / (1 + fabs(T[j])));
    CHECK(e3 < 1e-6, "LERP at grid points vs table: %.3g", e3);

    /* end segments extrapolate exactly: forward on a row and the curve */
    const int N = 4;
    float x[4 * 19], y[4 * 19];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) x[n * C + c] = n == 0 ? 5.0f : n == 1 ? -6.0f : n == 2 ? 4.0f + 0.37f * c : -4.0f - 0.61f * c;
    rm_act_prepare(&lerp, C, p, work);
    rm_act_forward(&lerp, C, p, work, x, y, N);
    double ee = 0, slopes = 0;
    for (int c = 0; c < C; c++) {
        float Tc[64];
        rm_act_table(&lerp, C, p, c, Tc);
        double sr = (Tc[G - 1] - Tc[G - 2]) * 63 / 8.0, sl = (Tc[1] - Tc[0]) * 63 / 8.0;
        for (int n = 0; n < N; n++) {
            double xv = x[n * C + c];
            double want = xv > 0 ? Tc[G - 1] + (xv - 4) * sr : Tc[0] + (xv + 4) * sl;
            ee = fmax(ee, fabs(y[n * C + c] - want) / (1 + fabs(want)));
        }
        slopes += fabs(sr - 1) + fabs(sl - 1);
    }
    CHECK(ee < 2e-6, "LERP extrapolation vs end-segment line: %.3g", ee);
    CHECK(slopes > 1e-3, "end slopes all 1: extrapolation test is vacuous");
    float cx[2] = {5.0f, -6.0f}, cy[2], Tc[64];
    rm_act_table(&lerp, C, p, 3, Tc);
    rm_act_curve(&lerp, C, p, 3, 0, cx, cy, 2);
    CHECK(cy[0] == y[3] && cy[1] == y[C + 3], "curve(which=0) %g %g vs forward %g %g", cy[0], cy[1], y[3], y[C + 3]);

    /* curve(which=0) uses p, not a stale work area */
    float x1[1] = {1.3f}, yc[1], yf[19], xr[19];
    for (int c = 0; c < C; c++) xr[c] = 1.3f;
    p[3 * (size_t)C * lerp.E + 3] += 0.5f; /* o_w of channel 3 */
    rm_act_curve(&lerp, C, p, 3, 0, x1, yc, 1);
    rm_act_prepare(&lerp, C, p, work);
    rm_act_forward(&lerp, C, p, work, xr, yf, 1);
    CHECK(yc[0] == yf[3], "curve after param change %g vs fresh forward %g", yc[0], yf[3]);

    /* LERP converges to the smooth ResPSA quadratically: G = 64 vs G = 1024 */
    const int M = 4001;
    float *cxs = falloc(M), *ys = falloc(M), *yl = falloc(M);
    for (int i = 0; i < M; i++) cxs[i] = -4.0f + 8.0f * i / (M - 1);
    double err[2];
    for (int g = 0; g < 2; g++) {
        lerp.G = g ? 1024 : 64;
        double e = 0, sc = 0;
        for (int c = 0; c < C; c++) {
            rm_act_curve(&lerp, C, p, c, 1, cxs, ys, M);
            rm_act_curve(&lerp, C, p, c, 0, cxs, yl, M);
            for (int i = 0; i < M; i++) { e = fmax(e, fabs(yl[i] - ys[i])); sc = fmax(sc, fabs(ys[i])); }
        }
        err[g] = e / sc;
    }
    CHECK(err[1] < 1e-4 && err[0] > 100 * err[1], "LERP vs ResPSA max rel err G=64 %.3g, G=1024 %.3g", err[0], err[1]);
    free(cxs); free(ys); free(yl);
    free(p); free(work); free(P);
}

static void test_bspline_extrap_tv2(void) {
    const int C = 18, K = 65;
    rm_act_cfg bs = rm_act_default(RM_ACT_BSPLINE);
    uint64_t rng = 31;
    float *q = falloc(rm_act_nparams(&bs, C)), *work = falloc(rm_act_worksize(&bs, C, 2));
    rm_act_init(&bs, C, q, &rng);
    for (size_t i = 0; i < rm_act_nparams(&bs, C); i++) q[i] += 0.05f * rm_rng_normal(&rng);

    /* extrapolation with the end slopes: forward and curve */
    float x[2 * 18], y[2 * 18];
    for (int c = 0; c < C; c++) { x[c] = 4.0f + 0.3f * c + 0.01f; x[C + c] = -4.0f - 0.7f * c - 0.01f; }
    rm_act_forward(&bs, C, q, work, x, y, 2);
    double ee = 0;
    for (int c = 0; c < C; c++) {
        const float *cc = q + (size_t)c * K;
        double w1 = cc[K - 1] + (x[c] - 4.0) * 8 * (cc[K - 1] - cc[K - 2]);
        double w0 = cc[0] + (x[C + c] + 4.0) * 8 * (cc[1] - cc[0]);
        ee = fmax(ee, fmax(fabs(y[c] - w1) / (1 + fabs(w1)), fabs(y[C + c] - w0) / (1 + fabs(w0))));
    }
    CHECK(ee < 2e-6, "B-spline extrapolation vs end-segment line: %.3g", ee);
    float cy[2], cx[2] = {x[5], x[C + 5]};
    rm_act_curve(&bs, C, q, 5, 0, cx, cy, 2);
    CHECK(cy[0] == y[5] && cy[1] == y[C + 5], "bspline curve vs forward");
    float tab[65];
    CHECK(rm_act_table(&bs, C, q, 4, tab) == K && tab[10] == q[4 * K + 10], "bspline table = coefficients");

    /* TV2 value against double, gradient against central differences (no zero second differences) */
    const float lam = 0.3f;
    double tv = 0;
    for (int c = 0; c < C; c++)
        for (int k = 0; k + 2 < K; k++) {
            const float *cc = q + (size_t)c * K;
            tv += fabs((double)cc[k] - 2.0 * cc[k + 1] + cc[k + 2]) / 0.125;
        }
    float *g = falloc(rm_act_nparams(&bs, C));
    for (size_t i = 0; i < rm_act_nparams(&bs, C); i++) g[i] = 1.0f; /* must accumulate */
    float v = rm_act_regular(&bs, C, q, g, lam);
    CHECK(t_close(v, lam * tv, 1e-5, 0), "tv2 %g want %g", v, lam * tv);
    CHECK(rm_act_regular(&bs, C, q, NULL, lam) == v, "tv2 without gradient differs");
    int gok = 1;
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            /* d/dc_k of lam/g * sum_j |c_j - 2c_{j+1} + c_{j+2}|, by central differences in double */
            double h = 1e-7, f[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                double s = 0;
                for (int j = (k >= 2 ? k - 2 : 0); j <= k && j + 2 < K; j++) {
                    double cj[3];
                    for (int u = 0; u < 3; u++) cj[u] = q[(size_t)c * K + j + u] + (j + u == k ? (sgn ? -h : h) : 0);
                    s += fabs(cj[0] - 2 * cj[1] + cj[2]);
                }
                f[sgn] = s;
            }
            double want = 1.0 + lam / 0.125 * (f[0] - f[1]) / (2 * h);
            gok &= t_close(g[(size_t)c * K + k], want, 1e-4, 1e-4);
        }
    CHECK(gok, "tv2 gradient vs finite differences");
    free(g);

    /* linear coefficients: TV2 = 0 and zero gradient (sign(0) = 0) */
    for (int k = 0; k < K; k++) q[k] = (k - 32) * 0.125f;
    float g0[65] = {0};
    CHECK(rm_act_regular(&bs, 1, q, g0, 1.0f) == 0, "tv2 of a line");
    int zero = 1;
    for (int k = 0; k < K; k++) zero &= g0[k] == 0;
    CHECK(zero, "tv2 gradient of a line is not zero");
    free(q); free(work);
}

/* ---------------------------------------------------------------- threads */

static void test_threads(void) {
#ifdef _OPENMP
    const int C = 40, N = 3001;
    const size_t n = (size_t)N * C;
    int kinds[3] = {RM_ACT_LERP_PSA, RM_ACT_BSPLINE, RM_ACT_PSA};
    int saved = omp_get_max_threads();
    uint64_t rng = 41;
    float *x = falloc(n), *dy = falloc(n), *y[2], *dx[2], *dp[2];
    gen_x(x, n, 8, 0, &rng);
    for (size_t i = 0; i < n; i++) dy[i] = rm_rng_normal(&rng);
    for (int kk = 0; kk < 3; kk++) {
        rm_act_cfg cfg = rm_act_default(kinds[kk]);
        size_t np = rm_act_nparams(&cfg, C);
        float *p = falloc(np), *work = falloc(rm_act_worksize(&cfg, C, 2));
        rm_act_init(&cfg, C, p, &rng);
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            y[t] = falloc(n); dx[t] = falloc(n); dp[t] = falloc(np);
            rm_act_prepare(&cfg, C, p, work);
            rm_act_forward(&cfg, C, p, work, x, y[t], N);
            rm_act_backward(&cfg, C, p, work, x, dy, dx[t], dp[t], N);
        }
        int same = memcmp(y[0], y[1], n * 4) == 0 && memcmp(dx[0], dx[1], n * 4) == 0 && memcmp(dp[0], dp[1], np * 4) == 0;
        CHECK(same, "%s: 1 and 2 threads differ", rm_act_name(kinds[kk]));
        for (int t = 0; t < 2; t++) { free(y[t]); free(dx[t]); free(dp[t]); }
        free(p); free(work);
    }
    omp_set_num_threads(saved);
    free(x); free(dy);
#endif
}

/* ---------------------------------------------------------------- PyTorch fixture */

static const float *fx(rm_ctx *ctx, const rm_st_file *f, const char *name, int nd, int64_t d0, int64_t d1) {
    const void *d = NULL;
    int64_t sh[2] = {d0, d1};
    CHECK_OK(rm_st_get(ctx, f, name, RM_F32, nd, sh, &d), ctx);
    return d;
}
/* |got - ref| <= 1e-4 * |ref| + 1e-5 * max|ref| (float32 vs the float64 truth) */
static void cmp(const char *name, const float *got, const float *want, size_t n, float sub_scale, const float *sub) {
    if (!want) return;
    double sc = 0, e = 0;
    for (size_t i = 0; i < n; i++) sc = fmax(sc, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double g = got[i] - (sub ? sub_scale * sub[i] : 0);
        e = fmax(e, fabs(g - want[i]) / (fabs(want[i]) + 0.1 * sc));
    }
    CHECK(e < 1e-4, "fixture %s: max rel err %.3g", name, e);
}

static void test_fixture(void) {
    rm_ctx ctx = {0};
    rm_st_file f;
    const char *path = "tests/fixtures/act_fixtures.safetensors";
    if (rm_st_load(&ctx, path, &f) != RM_OK) { CHECK(0, "load %s: %s", path, ctx.msg); return; }
    const int C = 5, N = 200, E = 8, G = 64, K = 65;
    const size_t n = (size_t)N * C;
    const float *x = fx(&ctx, &f, "x", 2, N, C), *dy = fx(&ctx, &f, "dy", 2, N, C);
    if (!x || !dy) { rm_st_free(&f); return; }
    float *y = falloc(n), *dx = falloc(n), *p = falloc(26 * C), *dp = falloc(65 * C), *work;
    char nm[128];

    /* psa (= respsa - x), respsa, lerp share the parameters */
    int kinds[2] = {RM_ACT_PSA, RM_ACT_LERP_PSA};
    for (int kk = 0; kk < 2; kk++) {
        rm_act_cfg cfg = rm_act_default(kinds[kk]);
        for (int t = 0; t < 5; t++) {
            const char *suf; int nd; int64_t sh[2]; size_t off;
            rm_act_tensor(&cfg, C, t, &suf, &nd, sh, &off);
            const float *d = fx(&ctx, &f, suf, nd, C, E);
            if (d) memcpy(p + off, d, sizeof(float) * (t < 3 ? C * E : C));
        }
        work = falloc(rm_act_worksize(&cfg, C, 2));
        memset(dp, 0, sizeof(float) * 26 * C);
        rm_act_prepare(&cfg, C, p, work);
        rm_act_forward(&cfg, C, p, work, x, y, N);
        rm_act_backward(&cfg, C, p, work, x, dy, dx, dp, N);
        const char *pre[2] = {kk == 0 ? "respsa" : "lerp", kk == 0 ? "psa" : NULL};
        for (int q = 0; q < 2 && pre[q]; q++) {
            snprintf(nm, sizeof nm, "%s.y", pre[q]);
            cmp(nm, y, fx(&ctx, &f, nm, 2, N, C), n, 1, q ? x : NULL);
            snprintf(nm, sizeof nm, "%s.dx", pre[q]);
            cmp(nm, dx, fx(&ctx, &f, nm, 2, N, C), n, 1, q ? dy : NULL);
            for (int t = 0; t < 5; t++) {
                const char *suf; int nd; int64_t sh[2]; size_t off;
                rm_act_tensor(&cfg, C, t, &suf, &nd, sh, &off);
                snprintf(nm, sizeof nm, "%s.grad.%s", pre[q], suf + 4);
                cmp(nm, dp + off, fx(&ctx, &f, nm, nd, C, E), t < 3 ? (size_t)C * E : (size_t)C, 0, NULL);
            }
        }
        if (kk == 1) {
            float T[5 * 64];
            for (int c = 0; c < C; c++) rm_act_table(&cfg, C, p, c, T + c * G);
            cmp("lerp.table", T, fx(&ctx, &f, "lerp.table", 2, C, G), (size_t)C * G, 0, NULL);
        }
        free(work);
    }

    rm_act_cfg bs = rm_act_default(RM_ACT_BSPLINE);
    const float *co = fx(&ctx, &f, "bspline.coefficients", 2, C, K);
    if (co) {
        work = falloc(rm_act_worksize(&bs, C, 2));
        memset(dp, 0, sizeof(float) * 65 * C);
        rm_act_forward(&bs, C, co, work, x, y, N);
        rm_act_backward(&bs, C, co, work, x, dy, dx, dp, N);
        cmp("bspline.y", y, fx(&ctx, &f, "bspline.y", 2, N, C), n, 0, NULL);
        cmp("bspline.dx", dx, fx(&ctx, &f, "bspline.dx", 2, N, C), n, 0, NULL);
        cmp("bspline.grad.coefficients", dp, fx(&ctx, &f, "bspline.grad.coefficients", 2, C, K), (size_t)C * K, 0, NULL);
        memset(dp, 0, sizeof(float) * 65 * C);
        float tv = rm_act_regular(&bs, C, co, dp, 1.0f);
        cmp("bspline.tv2", &tv, fx(&ctx, &f, "bspline.tv2", 1, 1, 0), 1, 0, NULL);
        cmp("bspline.grad_tv2.coefficients", dp, fx(&ctx, &f, "bspline.grad_tv2.coefficients", 2, C, K), (size_t)C * K, 0, NULL);
        free(work);
    }
    free(y); free(dx); free(p); free(dp);
    rm_st_free(&f);
}

int main(void) {
    test_counts_init();
    test_grads();
    test_tables();
    test_bspline_extrap_tv2();
    test_threads();
    test_fixture();
    TEST_END();
}
