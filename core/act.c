/* act.c - activation dispatcher plus the parameter-free activations (ReLU, GELU).
 * The learned activations live in act_psa.c (PSA / LERP-PSA) and act_bspline.c (B-spline). */
#include "act_impl.h"
#include <math.h>
#include <string.h>

static const char *names[RM_ACT_NKINDS] = {"relu", "gelu", "psa", "lerp_psa", "bspline"};

rm_act_cfg rm_act_default(int kind) {
    rm_act_cfg c = {.kind = kind, .E = 8, .eps = 1.0f, .G = 64, .R = 4.0f, .K = 65, .spacing = 0.125f};
    return c;
}
const char *rm_act_name(int kind) { return kind >= 0 && kind < RM_ACT_NKINDS ? names[kind] : "?"; }
int rm_act_kind_from_name(const char *name) {
    for (int k = 0; k < RM_ACT_NKINDS; k++) if (strcmp(name, names[k]) == 0) return k;
    if (strcmp(name, "lerp") == 0 || strcmp(name, "lerp-psa") == 0) return RM_ACT_LERP_PSA;
    if (strcmp(name, "spline") == 0 || strcmp(name, "b-spline") == 0) return RM_ACT_BSPLINE;
    return -1;
}
int rm_act_has_params(int kind) { return kind == RM_ACT_PSA || kind == RM_ACT_LERP_PSA || kind == RM_ACT_BSPLINE; }

int rm_act_check_cfg(rm_ctx *ctx, const rm_act_cfg *c) {
    if (c->kind < 0 || c->kind >= RM_ACT_NKINDS) return rm_err(ctx, "unknown activation kind %d", c->kind);
    if (c->kind == RM_ACT_PSA || c->kind == RM_ACT_LERP_PSA) {
        if (c->E < 1 || c->E > 64) return rm_err(ctx, "psa keys E=%d out of range 1..64", c->E);
        if (!(c->eps > 0)) return rm_err(ctx, "psa eps=%g must be > 0", c->eps);
    }
    if (c->kind == RM_ACT_LERP_PSA) {
        if (c->G < 2 || c->G > 4096) return rm_err(ctx, "lerp grid G=%d out of range 2..4096", c->G);
        if (!(c->R > 0) || !isfinite(c->R)) return rm_err(ctx, "lerp range R=%g must be > 0", c->R);
    }
    if (c->kind == RM_ACT_BSPLINE) {
        if (c->K < 3 || c->K % 2 == 0 || c->K > 4097) return rm_err(ctx, "bspline size K=%d must be odd, 3..4097", c->K);
        if (!(c->spacing > 0) || !isfinite(c->spacing)) return rm_err(ctx, "bspline spacing %g must be > 0", c->spacing);
    }
    return RM_OK;
}

size_t rm_act_nparams(const rm_act_cfg *c, int C) {
    switch (c->kind) {
    case RM_ACT_PSA: case RM_ACT_LERP_PSA: return psa_nparams(c, C);
    case RM_ACT_BSPLINE: return bspline_nparams(c, C);
    default: return 0;
    }
}
int rm_act_ntensors(const rm_act_cfg *c) {
    switch (c->kind) {
    case RM_ACT_PSA: case RM_ACT_LERP_PSA: return 5;
    case RM_ACT_BSPLINE: return 1;
    default: return 0;
    }
}
void rm_act_tensor(const rm_act_cfg *c, int C, int i, const char **suffix, int *ndim, int64_t shape[2], size_t *offset) {
    if (c->kind == RM_ACT_BSPLINE) {
        *suffix = "coefficients"; *ndim = 2; shape[0] = C; shape[1] = c->K; *offset = 0;
        return;
    }
    static const char *psa_names[5] = {"psa.v_weight", "psa.q_weight", "psa.q_bias", "psa.o_weight", "psa.o_bias"};
    size_t CE = (size_t)C * c->E;
    *suffix = psa_names[i];
    if (i < 3) { *ndim = 2; shape[0] = C; shape[1] = c->E; *offset = i * CE; }
    else { *ndim = 1; shape[0] = C; shape[1] = 0; *offset = 3 * CE + (size_t)(i - 3) * C; }
}
void rm_act_init(const rm_act_cfg *c, int C, float *p, uint64_t *rng) {
    if (c->kind == RM_ACT_PSA || c->kind == RM_ACT_LERP_PSA) psa_init(c, C, p, rng);
    else if (c->kind == RM_ACT_BSPLINE) bspline_init(c, C, p, rng);
}
size_t rm_act_worksize(const rm_act_cfg *c, int C, int nthreads) {
    if (c->kind == RM_ACT_PSA || c->kind == RM_ACT_LERP_PSA) return psa_worksize(c, C, nthreads);
    if (c->kind == RM_ACT_BSPLINE) return bspline_worksize(c, C, nthreads);
    return 0;
}
void rm_act_prepare(const rm_act_cfg *c, int C, const float *p, float *work) {
    if (c->kind == RM_ACT_PSA || c->kind == RM_ACT_LERP_PSA) psa_prepare(c, C, p, work);
}

static inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678f)); }
static inline float gelu_grad(float x) {
    return 0.5f * (1.0f + erff(x * 0.70710678f)) + x * 0.39894228f * expf(-0.5f * x * x);
}

// x, y are (N,C)
void rm_act_forward(const rm_act_cfg *c, int C, const float *p, const float *work, const float *x, float *y, int N) {
    size_t n = (size_t)N * C;
    switch (c->kind) {
    case RM_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case RM_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) y[i] = gelu(x[i]);
        break;
    case RM_ACT_PSA: case RM_ACT_LERP_PSA: psa_forward(c, C, p, work, x, y, N); break;
    case RM_ACT_BSPLINE: bspline_forward(c, C, p, x, y, N); break;
    }
}
// x, dy, dx are (N,C); dx overwritten, dp accumulated
void rm_act_backward(const rm_act_cfg *c, int C, const float *p, float *work, const float *x, const float *dy, float *dx, float *dp, int N) {
    size_t n = (size_t)N * C;
    switch (c->kind) {
    case RM_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
        break;
    case RM_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * gelu_grad(x[i]);
        break;
    case RM_ACT_PSA: case RM_ACT_LERP_PSA: psa_backward(c, C, p, work, x, dy, dx, dp, N); break;
    case RM_ACT_BSPLINE: bspline_backward(c, C, p, work, x, dy, dx, dp, N); break;
    }
}
float rm_act_regular(const rm_act_cfg *c, int C, const float *p, float *dp, float lambda) {
    return c->kind == RM_ACT_BSPLINE ? bspline_tv2(c, C, p, dp, lambda) : 0.0f;
}
void rm_act_curve(const rm_act_cfg *c, int C, const float *p, int ch, int which, const float *x, float *y, int n) {
    switch (c->kind) {
    case RM_ACT_RELU: for (int i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    case RM_ACT_GELU: for (int i = 0; i < n; i++) y[i] = gelu(x[i]); break;
    case RM_ACT_PSA: case RM_ACT_LERP_PSA: psa_curve(c, C, p, ch, which, x, y, n); break;
    case RM_ACT_BSPLINE: bspline_curve(c, C, p, ch, x, y, n); break;
    }
}
int rm_act_table(const rm_act_cfg *c, int C, const float *p, int ch, float *out) {
    if (c->kind == RM_ACT_LERP_PSA || c->kind == RM_ACT_PSA) return psa_table(c, C, p, ch, out);
    if (c->kind == RM_ACT_BSPLINE) { memcpy(out, p + (size_t)ch * c->K, sizeof(float) * c->K); return c->K; }
    return 0;
}
