/* layers.h - the ResMLP's kernels as forward/backward pairs over batch-major contiguous buffers.
 * Matrix products go through rm_gemm (gemm.h); elementwise work and reductions use OpenMP.
 * Backward functions ACCUMULATE (+=) into parameter gradients and OVERWRITE input gradients.
 * Reductions over rows use a fixed chunking (RM_RCHUNKS) so results do not depend on thread count. */
#ifndef RM_LAYERS_H
#define RM_LAYERS_H
#include "ctx.h"

#define RM_MAXC 2048     /* largest channel count a reduction handles */
#define RM_RCHUNKS 32    /* fixed row chunks for deterministic reductions */

/* scratch for reductions: 3*RM_RCHUNKS*RM_MAXC doubles of partial sums, then outputs at RM_ROUT */
#define RM_ROUT ((size_t)RM_RCHUNKS * RM_MAXC * 3)
#define RM_RSCRATCH (RM_ROUT + 4 * (size_t)RM_MAXC)

// x is (N,IC), w is (OC,IC), b is (OC) or NULL (no bias); y is (N,OC)
void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IC, int OC);
// dy is (N,OC); dw (OC,IC) += dy^T x; db (OC) += colsum(dy); dx (N,IC) = dy w (skipped if dx NULL)
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     int N, int IC, int OC, double *scratch);

/* BatchNorm over rows of x (N,C) (batch and tokens together), train or eval mode.
 * train: uses batch stats (biased var), updates running stats (momentum, unbiased var), saves mean/rstd.
 * eval:  uses running stats. y = xhat*gamma + beta with xhat = (x-mean)*rstd (not stored: backward
 * recomputes it from x, which the caller keeps).
 * If yt != NULL, y is written transposed as (T, B, C) for token mixing (N = B*T rows of x, x is (B,T,C)). */
void bn_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                const float *beta, float *run_mean, float *run_var, int N, int C, int train, float momentum,
                float eps, int transpose_T, double *scratch);
// dy (N,C) (or (T,B,C) if transpose_T); dx (N,C) overwritten; dgamma, dbeta accumulated.
// train: full batch-stat backward; eval: dx = dy*gamma*rstd.
void bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                 const float *gamma, const float *rstd, int N, int C, int train, int transpose_T, double *scratch);

/* column reductions (deterministic): out[c] (+)= sum_rows a[r,c] (*b[r,c] if b) */
void colsum(double *out, const float *a, const float *b, int N, int C, double *scratch);

/* per-channel affine (LayerScale) plus residual: out (N,C) = x + v*w + b, where v may be transposed
 * (T,B,C) when transpose_T > 0 (token mixing output) or (N,C) when 0. out may alias x. */
void affine_residual_forward(float *out, const float *x, const float *v, const float *w, const float *b,
                             int N, int C, int transpose_T);
/* the same with the bias vb of the linear that produced v applied here instead of in that linear (its GEMM
 * then runs with beta = 0 and no bias pass): out = x + (v + vb)*w + b, vb per token ((T) when transpose_T
 * > 0) or per channel (C); vb NULL: none. The _sumsq and _bn_eval passes below take vb the same way. */
void affine_residual_forward_b(float *out, const float *x, const float *v, const float *vb, const float *w, const float *b,
                               int N, int C, int transpose_T);
// dout (N,C); dv = dout*w (layout like v); dw += sum dout*v; db += sum dout
void affine_residual_backward(float *dv, float *dw, float *db, const float *dout, const float *v,
                              const float *w, int N, int C, int transpose_T, double *scratch);

/* Fused passes, each bit-identical to the sequence it replaces (same operations, same reduction order):
 * affine_residual_forward_sumsq = affine_residual_forward, then the column sums a train-mode bn_forward of
 *   out would compute, left in scratch for bn_forward_summed (= bn_forward(train) minus its reduction);
 * affine_residual_bn_eval = affine_residual_forward then an eval-mode bn_forward of out (y (T,B,C) when yT);
 * bn_backward_acc = bn_backward that ADDS its dx into dx (the residual stream's gradient). */
void affine_residual_forward_sumsq(float *out, const float *x, const float *v, const float *vb, const float *w, const float *b,
                                   int N, int C, int transpose_T, double *scratch);
void bn_forward_summed(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                       float *run_mean, float *run_var, int N, int C, float momentum, float eps, int transpose_T,
                       double *scratch);
void affine_residual_bn_eval(float *out, float *y, float *mean, float *rstd, const float *x, const float *v,
                             const float *vb, const float *w, const float *b, const float *gamma, const float *beta,
                             const float *run_mean, const float *run_var, int N, int C, int vT, int yT, float eps);
void bn_backward_acc(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                     const float *gamma, const float *rstd, int N, int C, int train, int transpose_T, double *scratch);

/* BatchNorm backward in two halves so the second can be fused: bn_backward_reduce accumulates dgamma,
 * dbeta and leaves the coefficients of dx = g*(dy - k1 - (x-mean)*k2) in bg (dy, x, mean are kept as
 * pointers and must stay valid); stream_backward (below) applies them in its pass. */
typedef struct {
    const float *dy, *x, *mean;
    int dyT;                                   /* dy is (T,B,C) when > 0 */
    float g[RM_MAXC], k1[RM_MAXC], k2[RM_MAXC];
} rm_bn_grad;
void bn_backward_reduce(rm_bn_grad *bg, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *gamma, const float *rstd, int N, int C, int train, int T, double *scratch);
/* one pass over the stream gradient ds (N,C): the BatchNorm dx of bg (if bg) into ds (acc: +=, else =),
 * then the LayerScale backward of out = x + (v + vb)*w + b (if v): dv = ds*w (layout of v, (T,B,C)
 * when vT), dw += sum ds*(v + vb), db += sum ds, dvb (if not NULL) += sum dv; without v, db (if not NULL)
 * += sum ds. vb (NULL: none) is the bias of the linear that produced v: per channel when vT == 0, per
 * token when vT > 0. Bit-identical to bn_backward(_acc), affine_residual_backward and the bias sum of
 * linear_backward in sequence. scratch: RM_RSCRATCH doubles. */
void stream_backward(float *ds, const rm_bn_grad *bg, int acc, float *dv, float *dw, float *db, float *dvb,
                     const float *v, const float *vb, const float *w, int N, int C, int vT, double *scratch);

/* ReLU with the previous linear's bias fused: h (N,C) = max(0, h + b) in place; backward from the
 * ReLU output h: dx = dy*(h>0), db += colsum(dx) */
void relu_bias_forward(float *h, const float *b, int N, int C);
void relu_bias_backward(float *dx, float *db, const float *dy, const float *h, int N, int C, double *scratch);

/* token mixing on the transposed layout: v (T, B*C) = W (T,T) @ u (T, B*C) + bias[t] (b NULL: no bias) */
void tokmix_forward(float *v, const float *u, const float *w, const float *b, int T, int BC);
// dv (T,BC); dW += dv u^T; db[t] += sum_j dv[t][j]; du = W^T dv
void tokmix_backward(float *du, float *dw, float *db, const float *dv, const float *u, const float *w, int T, int BC);
// db[t] += sum_j dv[t][j] (what tokmix_backward does for db; deterministic lane order, OpenMP over t)
void tokmix_bias_backward(float *db, const float *dv, int T, int BC);

/* head pooling: p (B,C) = mean over T of u (B,T,C) */
void meanpool_forward(float *p, const float *u, int B, int T, int C);
void meanpool_backward(float *du, const float *dp, int B, int T, int C);

/* losses over logits z (B,K). Return the mean loss; write dz (B,K) (gradient of the mean). */
float cross_entropy(float *dz, const float *z, const int *y, int B, int K);
/* KD: alpha*T^2*KL(softmax(zt/T) || softmax(zs/T)) (batchmean) + (1-alpha)*CE(zs, y) */
float kd_loss(float *dz, const float *zs, const float *zt, const int *y, int B, int K, float alpha, float T);
/* MSE mean over all elements; dz = 2(a-b)/n * scale */
float mse_loss(float *da, const float *a, const float *b, size_t n);
#endif
