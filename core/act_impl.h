/* act_impl.h - internal interface between the activation dispatcher (act.c) and the learned
 * activations (act_psa.c: PSA, ResPSA, LERP-PSA; act_bspline.c: linear B-spline). Same argument
 * conventions as act.h: x, y, dx, dy are (N,C) row-major; p is the layer's parameter block. */
#ifndef RM_ACT_IMPL_H
#define RM_ACT_IMPL_H
#include "act.h"

/* PSA family (kind RM_ACT_PSA = ResPSA applied directly, RM_ACT_LERP_PSA = table + LERP).
 * Parameter block: v (C,E), w (C,E), b (C,E), o_w (C), o_b (C). */
size_t psa_nparams(const rm_act_cfg *cfg, int C);
void psa_init(const rm_act_cfg *cfg, int C, float *p, uint64_t *rng);
size_t psa_worksize(const rm_act_cfg *cfg, int C, int nthreads);
void psa_prepare(const rm_act_cfg *cfg, int C, const float *p, float *work);
void psa_forward(const rm_act_cfg *cfg, int C, const float *p, const float *work, const float *x, float *y, int N);
void psa_backward(const rm_act_cfg *cfg, int C, const float *p, float *work, const float *x, const float *dy, float *dx, float *dp, int N);
void psa_curve(const rm_act_cfg *cfg, int C, const float *p, int ch, int which, const float *x, float *y, int n);
int psa_table(const rm_act_cfg *cfg, int C, const float *p, int ch, float *out);

/* B-spline. Parameter block: coefficients (C,K). */
size_t bspline_nparams(const rm_act_cfg *cfg, int C);
void bspline_init(const rm_act_cfg *cfg, int C, float *p, uint64_t *rng);
size_t bspline_worksize(const rm_act_cfg *cfg, int C, int nthreads);
void bspline_forward(const rm_act_cfg *cfg, int C, const float *p, const float *x, float *y, int N);
void bspline_backward(const rm_act_cfg *cfg, int C, const float *p, float *work, const float *x, const float *dy, float *dx, float *dp, int N);
float bspline_tv2(const rm_act_cfg *cfg, int C, const float *p, float *dp, float lambda);
void bspline_curve(const rm_act_cfg *cfg, int C, const float *p, int ch, const float *x, float *y, int n);
#endif
