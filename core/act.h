/* act.h - pluggable per-channel activation layers for the channel MLP: ReLU, GELU, PSA, LERP-PSA
 * (the paper's method) and linear B-spline (DeepSplines-style). An activation layer of C channels owns
 * rm_act_nparams() floats inside the model's single parameter allocation and an opaque work area
 * (LERP table, its gradient, per-thread scratch) of rm_act_worksize() floats owned by the model.
 * All tensors are row-major (N,C): N = batch*tokens rows, C channels. */
#ifndef RM_ACT_H
#define RM_ACT_H
#include "ctx.h"

enum { RM_ACT_RELU = 0, RM_ACT_GELU, RM_ACT_PSA, RM_ACT_LERP_PSA, RM_ACT_BSPLINE, RM_ACT_NKINDS };

typedef struct rm_act_cfg {
    int kind;
    int E;        /* PSA keys (8) */
    float eps;    /* PSA eps (1.0) */
    int G;        /* LERP grid points (64) */
    float R;      /* LERP grid range [-R, R] (4) */
    int K;        /* B-spline coefficients (65) */
    float spacing;/* B-spline knot spacing (0.125); knots k*spacing, k = -(K-1)/2 .. (K-1)/2 */
} rm_act_cfg;

/* paper defaults for a kind */
rm_act_cfg rm_act_default(int kind);
const char *rm_act_name(int kind);            /* "relu", "gelu", "psa", "lerp_psa", "bspline" */
int rm_act_kind_from_name(const char *name);  /* -1 if unknown */
int rm_act_has_params(int kind);              /* 0 for relu/gelu */
int rm_act_check_cfg(rm_ctx *ctx, const rm_act_cfg *cfg); /* validates E,G,R,K,... */

/* parameters of one layer of C channels, laid out as consecutive tensors */
size_t rm_act_nparams(const rm_act_cfg *cfg, int C);
int rm_act_ntensors(const rm_act_cfg *cfg);
/* i-th tensor: state_dict suffix ("psa.v_weight", "coefficients"...), shape, offset (floats) in the layer's block */
void rm_act_tensor(const rm_act_cfg *cfg, int C, int i, const char **suffix, int *ndim, int64_t shape[2], size_t *offset);
/* paper init: PSA v ~ N(0,4^2), w = 1, b ~ U(-1,1), o_w = 1, o_b = 0; B-spline leaky-ReLU(knot, 0.01) */
void rm_act_init(const rm_act_cfg *cfg, int C, float *p, uint64_t *rng);

/* work area (floats) for one layer; valid for any N <= maxN (per-thread scratch sized by threads) */
size_t rm_act_worksize(const rm_act_cfg *cfg, int C, int nthreads);
/* once per forward pass after parameters change: LERP-PSA builds the table T (C,G) = ResPSA(grid) */
void rm_act_prepare(const rm_act_cfg *cfg, int C, const float *p, float *work);
/* x, y are (N,C); y = f(x). OpenMP over rows. */
void rm_act_forward(const rm_act_cfg *cfg, int C, const float *p, const float *work,
                    const float *x, float *y, int N);
/* dy, x are (N,C): writes dx (N,C) (overwrites) and ACCUMULATES parameter grads into dp (+=). */
void rm_act_backward(const rm_act_cfg *cfg, int C, const float *p, float *work,
                     const float *x, const float *dy, float *dx, float *dp, int N);

/* regulariser (B-spline TV2; 0 for others): returns lambda*TV2 and, if dp != NULL, adds its gradient */
float rm_act_regular(const rm_act_cfg *cfg, int C, const float *p, float *dp, float lambda);

/* Curves for inspection. Sample the layer's function for channel ch at n points x[0..n) into y.
 * which: 0 = the function the model uses (LERP for lerp_psa), 1 = the smooth ResPSA (lerp_psa/psa). */
void rm_act_curve(const rm_act_cfg *cfg, int C, const float *p, int ch, int which,
                  const float *x, float *y, int n);
/* LERP-PSA: copy the table T[ch] (G values at grid_j = -R + j*2R/(G-1)) into out; returns G (0 if n/a).
 * B-spline: copies the K coefficients; returns K. */
int rm_act_table(const rm_act_cfg *cfg, int C, const float *p, int ch, float *out);
#endif
