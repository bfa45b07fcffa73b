/* test_grad.c - finite-difference gradient checks for every kernel of layers.c (Linear, token mixing,
 * BatchNorm in train and eval mode, LayerScale affine + residual, ReLU, mean pooling, cross-entropy,
 * KD, MSE) and for whole models (one block, the full network) through rm_model_backward.
 * Central differences in double-precision accumulation over float kernels; random probes. */
#include "tests/tutil.h"
#include "core/layers.h"
#include "core/model.h"
#include "core/act.h"
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 12345;
static void randn(float *x, size_t n, float s) { for (size_t i = 0; i < n; i++) x[i] = s * rm_rng_normal(&rng); }
static double dot(const float *a, const float *b, size_t n) { double s = 0; for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i]; return s; }

/* compare analytic gradient ga (n) of loss L(p) against central differences on up to `probes` entries */
typedef double (*lossfn)(void *ud);
static int fd_check(const char *what, lossfn L, void *ud, float *p, const float *ga, size_t n, int probes, float h, double tol) {
    int bad = 0;
    for (int k = 0; k < probes && k < (int)n; k++) {
        size_t i = n <= (size_t)probes ? (size_t)k : rm_rng_below(&rng, (uint32_t)n);
        float old = p[i];
        p[i] = old + h; double lp = L(ud);
        p[i] = old - h; double lm = L(ud);
        p[i] = old; double l0 = L(ud);
        double fd = (lp - lm) / (2.0 * h);
        /* piecewise-linear activations: a knot inside [p-h, p+h] spoils the central difference, but
         * the analytic gradient must then still equal one of the one-sided differences */
        if (!t_close(fd, ga[i], tol, 2e-3) && !t_close((lp - l0) / h, ga[i], tol, 4e-3) &&
            !t_close((l0 - lm) / h, ga[i], tol, 4e-3)) {
            if (bad < 3) fprintf(stderr, "  %s[%zu]: analytic %.6g finite-diff %.6g\n", what, i, ga[i], fd);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %d of %d probes off", what, bad, probes);
    return bad;
}

/* ---- kernel-level checks: L = sum(y * r) ---- */
enum { N = 24, IC = 7, OC = 5, T = 4, BB = 6, C = 5 };
static float x[N * 16], w[64], b[16], y[N * 16], r[N * 16], dx[N * 16], dw[64], db[16];
static float mean[16], rstd[16], rm_[16], rv_[16], gam[16], bet[16];
static double scratch[RM_RSCRATCH];

static double L_linear(void *ud) { linear_forward(y, x, w, b, N, IC, OC); return dot(y, r, N * OC); }
static double L_tokmix(void *ud) { tokmix_forward(y, x, w, b, T, BB * C); return dot(y, r, T * BB * C); }
static int bn_train = 1, bn_T = 0;
static double L_bn(void *ud) {
    float m2[16], v2[16];
    memcpy(m2, rm_, sizeof m2); memcpy(v2, rv_, sizeof v2);
    bn_forward(y, mean, rstd, x, gam, bet, m2, v2, N, C, bn_train, 0.1f, 1e-5f, bn_T, scratch);
    return dot(y, r, N * C);
}
static double L_aff(void *ud) { affine_residual_forward(y, x, dx, w, b, N, C, bn_T); return dot(y, r, N * C); }
static double L_relu(void *ud) { rm_act_cfg a = rm_act_default(RM_ACT_RELU); rm_act_forward(&a, C, NULL, NULL, x, y, N); return dot(y, r, N * C); }
static double L_gelu(void *ud) { rm_act_cfg a = rm_act_default(RM_ACT_GELU); rm_act_forward(&a, C, NULL, NULL, x, y, N); return dot(y, r, N * C); }
static double L_pool(void *ud) { meanpool_forward(y, x, BB, T, C); return dot(y, r, BB * C); }
static int labels[BB] = {0, 3, 4, 1, 2, 4};
static double L_ce(void *ud) { return cross_entropy(NULL, x, labels, BB, C); }
static double L_kd(void *ud) { return kd_loss(NULL, x, w, labels, BB, C, 0.8f, 2.0f); }
static double L_mse(void *ud) { return mse_loss(NULL, x, w, 20); }

static void kernels(void) {
    randn(x, sizeof x / 4, 1); randn(w, 64, 0.5f); randn(b, 16, 0.5f); randn(r, sizeof r / 4, 1);
    /* Linear */
    memset(dw, 0, sizeof dw); memset(db, 0, sizeof db);
    L_linear(NULL);
    linear_backward(dx, dw, db, r, x, w, N, IC, OC, scratch);
    fd_check("linear dx", L_linear, NULL, x, dx, N * IC, 30, 1e-2f, 1e-3);
    fd_check("linear dw", L_linear, NULL, w, dw, OC * IC, 30, 1e-2f, 1e-3);
    fd_check("linear db", L_linear, NULL, b, db, OC, OC, 1e-2f, 1e-3);
    /* token mixing: x is (T, BB*C), w (T,T) */
    memset(dw, 0, sizeof dw); memset(db, 0, sizeof db);
    tokmix_backward(dx, dw, db, r, x, w, T, BB * C);
    fd_check("tokmix du", L_tokmix, NULL, x, dx, T * BB * C, 30, 1e-2f, 1e-3);
    fd_check("tokmix dw", L_tokmix, NULL, w, dw, T * T, T * T, 1e-2f, 1e-3);
    fd_check("tokmix db", L_tokmix, NULL, b, db, T, T, 1e-2f, 1e-3);
    /* BatchNorm train / eval, plain and transposed output */
    for (int mode = 0; mode < 4; mode++) {
        bn_train = mode < 2; bn_T = mode & 1 ? T : 0;
        randn(gam, C, 0.5f); for (int c = 0; c < C; c++) { gam[c] += 1; rm_[c] = 0.1f * c; rv_[c] = 1 + 0.2f * c; }
        randn(bet, C, 0.5f);
        randn(x, N * C, 2);
        float gg[16] = {0}, gb[16] = {0};
        L_bn(NULL);
        bn_backward(dx, gg, gb, r, x, mean, gam, rstd, N, C, bn_train, bn_T, scratch);
        char nm[64];
        snprintf(nm, sizeof nm, "bn(%s%s) dx", bn_train ? "train" : "eval", bn_T ? ",T" : "");
        fd_check(nm, L_bn, NULL, x, dx, N * C, 40, 1e-2f, 2e-3);
        snprintf(nm, sizeof nm, "bn(%s%s) dgamma", bn_train ? "train" : "eval", bn_T ? ",T" : "");
        fd_check(nm, L_bn, NULL, gam, gg, C, C, 1e-2f, 2e-3);
        snprintf(nm, sizeof nm, "bn(%s%s) dbeta", bn_train ? "train" : "eval", bn_T ? ",T" : "");
        fd_check(nm, L_bn, NULL, bet, gb, C, C, 1e-2f, 2e-3);
    }
    /* affine + residual (v = dx buffer as the branch value), both layouts */
    for (int mode = 0; mode < 2; mode++) {
        bn_T = mode ? T : 0;
        randn(dx, N * C, 1); randn(w, C, 1); randn(b, C, 1);
        float dv[N * 16], gw[16] = {0}, gb[16] = {0};
        affine_residual_backward(dv, gw, gb, r, dx, w, N, C, bn_T, scratch);
        fd_check(mode ? "affine(T) dv" : "affine dv", L_aff, NULL, dx, dv, N * C, 30, 1e-2f, 1e-3);
        fd_check(mode ? "affine(T) dw" : "affine dw", L_aff, NULL, w, gw, C, C, 1e-2f, 1e-3);
        fd_check(mode ? "affine(T) db" : "affine db", L_aff, NULL, b, gb, C, C, 1e-2f, 1e-3);
    }
    /* ReLU / GELU (points kept away from the ReLU kink) */
    randn(x, N * C, 1);
    for (int i = 0; i < N * C; i++) if (fabsf(x[i]) < 0.05f) x[i] += 0.2f;
    rm_act_cfg a = rm_act_default(RM_ACT_RELU);
    rm_act_backward(&a, C, NULL, NULL, x, r, dx, NULL, N);
    fd_check("relu dx", L_relu, NULL, x, dx, N * C, 40, 1e-2f, 1e-3);
    a = rm_act_default(RM_ACT_GELU);
    rm_act_backward(&a, C, NULL, NULL, x, r, dx, NULL, N);
    fd_check("gelu dx", L_gelu, NULL, x, dx, N * C, 40, 1e-2f, 2e-3);
    /* mean pooling */
    meanpool_backward(dx, r, BB, T, C);
    fd_check("meanpool", L_pool, NULL, x, dx, BB * T * C, 30, 1e-2f, 1e-3);
    /* losses */
    randn(x, BB * C, 2); randn(w, BB * C, 2);
    cross_entropy(dx, x, labels, BB, C);
    fd_check("cross-entropy", L_ce, NULL, x, dx, BB * C, BB * C, 1e-2f, 1e-3);
    kd_loss(dx, x, w, labels, BB, C, 0.8f, 2.0f);
    fd_check("kd (T=2)", L_kd, NULL, x, dx, BB * C, BB * C, 1e-2f, 1e-3);
    mse_loss(dx, x, w, 20);
    fd_check("mse", L_mse, NULL, x, dx, 20, 20, 1e-2f, 1e-3);
}

/* ---- model-level checks ---- */
typedef struct { rm_model *m; float *x; int *y; int B; } mctx;
static double L_model(void *ud) {
    mctx *c = ud;
    rm_ctx ctx = {0};
    rm_model_params_changed(c->m);
    rm_model_forward(&ctx, c->m, c->x, c->B, 1, RM_FULL);
    return cross_entropy(NULL, c->m->c.logits, c->y, c->B, c->m->cfg.K) + rm_model_regular(c->m, 1e-3f, 0);
}

static void model_check(int kind, int L, const char *label) {
    rm_ctx ctx = {0};
    rm_model_cfg cfg = rm_model_default_cfg(kind, 6);
    cfg.T = 4; cfg.P = 3; cfg.D = 5; cfg.L = L; cfg.K = 3;
    rm_model *m = NULL;
    CHECK_OK(rm_model_new(&ctx, &m, &cfg, 7), &ctx);
    if (!m) return;
    /* move off the init so LayerScale/BN are not trivial */
    for (size_t i = 0; i < m->nparams; i++) m->mem[i] += 0.2f * rm_rng_normal(&rng);
    int B = 3;
    float xin[3 * 4 * 3];
    randn(xin, sizeof xin / 4, 1);
    int yy[3] = {0, 2, 1};
    mctx c = {m, xin, yy, B};
    float *bsave = malloc(m->nbufs * 4);
    memcpy(bsave, m->bmem, m->nbufs * 4);
    L_model(&c);
    float dz[9];
    cross_entropy(dz, m->c.logits, yy, B, cfg.K);
    rm_model_zero_grad(m);
    rm_model_regular(m, 1e-3f, 1);
    rm_model_backward(m, xin, dz, NULL, RM_FULL, -1);
    float *g = malloc(m->nparams * 4);
    memcpy(g, m->gmem, m->nparams * 4);
    for (int i = 0; i < m->ntensors; i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "%s %s", label, m->tensors[i].name);
        fd_check(nm, L_model, &c, m->mem + m->tensors[i].off, g + m->tensors[i].off, m->tensors[i].n, 6, 1e-3f, 3e-2);
    }
    free(g); free(bsave);
    rm_model_free(m);
}

int main(void) {
    rm_set_threads(0);
    kernels();
    model_check(RM_ACT_GELU, 1, "one block (gelu)");
    model_check(RM_ACT_RELU, 1, "one block (relu)");
    model_check(RM_ACT_GELU, 2, "model (gelu)");
    model_check(RM_ACT_LERP_PSA, 2, "model (lerp_psa)");
    model_check(RM_ACT_BSPLINE, 2, "model (bspline)");
    TEST_END();
}
