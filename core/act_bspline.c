/* act_bspline.c - per-channel linear B-spline activation (DeepSplines style): K coefficients on
 * knots k*g, k = -(K-1)/2 .. (K-1)/2; inside [knot_0, knot_{K-1}] it interpolates linearly, outside
 * it extrapolates the end segments. Evaluation reuses the table LERP kernel of act_psa.c (the
 * coefficients are the table, t = x/g + (K-1)/2). TV2 regulariser with its subgradient.
 * Does not: own an optimizer (the trainer gives coefficients their own Adam). */
#include "act_impl.h"
#include <math.h>

/* table LERP kernels, defined in act_psa.c */
size_t rm_lerp_worksize(int C, int G);
void rm_lerp_forward(const float *tab, int G, float s, float o, const float *x, float *y, int N, int C);
void rm_lerp_backward(const float *tab, int G, float s, float o, const float *x, const float *dy,
                      float *dx, float *slots, float *dtab, int N, int C);

static inline float knot(const rm_act_cfg *cfg, int k) { return (float)(k - (cfg->K - 1) / 2) * cfg->spacing; }
static inline float bs_s(const rm_act_cfg *cfg) { return 1.0f / cfg->spacing; }
static inline float bs_o(const rm_act_cfg *cfg) { return (float)((cfg->K - 1) / 2); }

size_t bspline_nparams(const rm_act_cfg *cfg, int C) { return (size_t)C * cfg->K; }

/* coefficients (C,K) = leaky_relu(knot, 0.01) */
void bspline_init(const rm_act_cfg *cfg, int C, float *p, uint64_t *rng) {
    for (int c = 0; c < C; c++)
        for (int k = 0; k < cfg->K; k++) {
            float t = knot(cfg, k);
            p[(size_t)c * cfg->K + k] = t > 0 ? t : 0.01f * t;
        }
}

size_t bspline_worksize(const rm_act_cfg *cfg, int C, int nthreads) { return rm_lerp_worksize(C, cfg->K); }

// x, y are (N,C); p is (C,K)
void bspline_forward(const rm_act_cfg *cfg, int C, const float *p, const float *x, float *y, int N) {
    rm_lerp_forward(p, cfg->K, bs_s(cfg), bs_o(cfg), x, y, N, C);
}

// x, dy, dx are (N,C); dx overwritten, dp (C,K) accumulated
void bspline_backward(const rm_act_cfg *cfg, int C, const float *p, float *work, const float *x, const float *dy,
                      float *dx, float *dp, int N) {
    rm_lerp_backward(p, cfg->K, bs_s(cfg), bs_o(cfg), x, dy, dx, work, dp, N, C);
}

/* lambda * sum_c sum_k |c_k - 2c_{k+1} + c_{k+2}| / g; adds the subgradient (sign(0) = 0) to dp */
float bspline_tv2(const rm_act_cfg *cfg, int C, const float *p, float *dp, float lambda) {
    const int K = cfg->K;
    const float sc = lambda / cfg->spacing;
    double tv = 0;
    for (int c = 0; c < C; c++) {
        const float *q = p + (size_t)c * K;
        for (int k = 0; k + 2 < K; k++) {
            float d = q[k] - 2 * q[k + 1] + q[k + 2];
            tv += fabsf(d);
            if (dp) {
                float sg = d > 0 ? sc : d < 0 ? -sc : 0;
                float *g = dp + (size_t)c * K + k;
                g[0] += sg; g[1] -= 2 * sg; g[2] += sg;
            }
        }
    }
    return (float)(tv * sc);
}

void bspline_curve(const rm_act_cfg *cfg, int C, const float *p, int ch, const float *x, float *y, int n) {
    /* x, y as (n,1) against the one-channel table p[ch] */
    rm_lerp_forward(p + (size_t)ch * cfg->K, cfg->K, bs_s(cfg), bs_o(cfg), x, y, n, 1);
}
