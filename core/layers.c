/* layers.c - forward/backward kernels of the ResMLP: linear (sgemm), BatchNorm, LayerScale affine with
 * residual, token mixing (sgemm on the (T, B*C) layout), mean pooling and the losses.
 * See layers.h for shapes and accumulation rules. */
#include "layers.h"
#include "gemm.h"
#include <math.h>
#include <string.h>

/* ---- deterministic column reductions -------------------------------------------------------- */

/* row r of a logical (N,C) tensor stored transposed as (T,B,C) (token mixing layout) */
static inline size_t trow(int r, int T, int B) { return (size_t)(r % T) * B + r / T; }
static inline size_t prow(int r, int T, int B) { return T > 0 ? trow(r, T, B) : (size_t)r; }

enum { R_SUM = 0, R_SUMSQ = 1, R_PROD = 2 };
/* One pass over rows in RM_RCHUNKS fixed chunks (deterministic for any thread count):
 *   s1[c] = sum_r a[r,c]
 *   s2[c] = sum_r a[r,c]^2 (R_SUMSQ) or a[r,c]*(b[r,c] - bm[c]) (R_PROD; bm NULL means 0); unused for R_SUM.
 * a's rows are permuted when aT > 0, b's when bT > 0 (layout (T,B,C)). scratch: 2*RM_RCHUNKS*C doubles. */
static void col_reduce(double *s1, double *s2, const float *a, int aT, const float *b, int bT, const float *bm,
                       int N, int C, int mode, double *scratch) {
    int aB = aT > 0 ? N / aT : 0, bB = bT > 0 ? N / bT : 0;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < RM_RCHUNKS; k++) {
        double *acc1 = scratch + (size_t)k * 2 * C, *acc2 = acc1 + C;
        for (int c = 0; c < C; c++) acc1[c] = acc2[c] = 0;
        int r0 = (int)((long)N * k / RM_RCHUNKS), r1 = (int)((long)N * (k + 1) / RM_RCHUNKS);
        float l1[RM_MAXC], l2[RM_MAXC];
        for (int c = 0; c < C; c++) l1[c] = l2[c] = 0;
        for (int r = r0; r < r1; r++) {
            const float *ar = a + prow(r, aT, aB) * C;
            if (mode == R_SUM) {
                for (int c = 0; c < C; c++) l1[c] += ar[c];
            } else if (mode == R_SUMSQ) {
                for (int c = 0; c < C; c++) { l1[c] += ar[c]; l2[c] += ar[c] * ar[c]; }
            } else if (!bm) {
                const float *br = b + prow(r, bT, bB) * C;
                for (int c = 0; c < C; c++) { l1[c] += ar[c]; l2[c] += ar[c] * br[c]; }
            } else {
                const float *br = b + prow(r, bT, bB) * C;
                for (int c = 0; c < C; c++) { l1[c] += ar[c]; l2[c] += ar[c] * (br[c] - bm[c]); }
            }
            if (((r - r0) & 31) == 31)
                for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; l1[c] = l2[c] = 0; }
        }
        for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; }
    }
    for (int c = 0; c < C; c++) {
        double x1 = 0, x2 = 0;
        for (int k = 0; k < RM_RCHUNKS; k++) { x1 += scratch[(size_t)k * 2 * C + c]; x2 += scratch[(size_t)k * 2 * C + C + c]; }
        s1[c] = x1;
        if (s2) s2[c] = x2;
    }
}

void colsum(double *out, const float *a, const float *b, int N, int C, double *scratch) {
    double *tmp = scratch + RM_ROUT;
    if (b) col_reduce(tmp, out, a, 0, b, 0, NULL, N, C, R_PROD, scratch);
    else col_reduce(out, NULL, a, 0, NULL, 0, NULL, N, C, R_SUM, scratch);
}

/* add a double reduction into a float gradient */
static void add_to(float *g, const double *d, int C) { for (int c = 0; c < C; c++) g[c] += (float)d[c]; }

/* ---- linear ---------------------------------------------------------------------------------- */

// x is (N,IC), w is (OC,IC), b is (OC); y is (N,OC)
void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IC, int OC) {
    if (b) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++) memcpy(y + (size_t)r * OC, b, sizeof(float) * OC);
    }
    rm_gemm(0, 1, N, OC, IC, 1.0f, x, IC, w, IC, b ? 1.0f : 0.0f, y, OC);
}

// dy is (N,OC); dw (OC,IC) += dy^T x; db += colsum(dy); dx (N,IC) = dy w
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     int N, int IC, int OC, double *scratch) {
    if (dw) rm_gemm(1, 0, OC, IC, N, 1.0f, dy, OC, x, IC, 1.0f, dw, IC);
    if (db) {
        double *s = scratch + RM_ROUT;
        col_reduce(s, NULL, dy, 0, NULL, 0, NULL, N, OC, R_SUM, scratch);
        add_to(db, s, OC);
    }
    if (dx) rm_gemm(0, 0, N, IC, OC, 1.0f, dy, OC, w, IC, 0.0f, dx, IC);
}

/* ---- BatchNorm ------------------------------------------------------------------------------- */

/* mean/rstd (and running stats) from the column sums s (sum) and s2 (sum of squares) of N rows */
static void bn_finish(float *mean, float *rstd, float *run_mean, float *run_var, const double *s, const double *s2,
                      int N, int C, float momentum, float eps) {
    for (int c = 0; c < C; c++) {
        double mu = s[c] / N, var = s2[c] / N - mu * mu;
        if (var < 0) var = 0;
        mean[c] = (float)mu;
        rstd[c] = (float)(1.0 / sqrt(var + eps));
        if (run_mean) {
            run_mean[c] = (1 - momentum) * run_mean[c] + momentum * (float)mu;
            run_var[c] = (1 - momentum) * run_var[c] + momentum * (float)(N > 1 ? var * N / (N - 1) : var);
        }
    }
}

/* y = x*a + b with a = gamma*rstd, b = beta - mean*a (xhat is recomputed in backward) */
static void bn_coef(float *a, float *b, const float *mean, const float *rstd, const float *gamma, const float *beta, int C) {
    for (int c = 0; c < C; c++) { a[c] = gamma[c] * rstd[c]; b[c] = beta[c] - mean[c] * a[c]; }
}

static void bn_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma, const float *beta,
                     int N, int C, int T) {
    float a[RM_MAXC], b[RM_MAXC];
    bn_coef(a, b, mean, rstd, gamma, beta, C);
    int B = T > 0 ? N / T : 0;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * C;
        float *yr = y + prow(r, T, B) * C;
#pragma omp simd
        for (int c = 0; c < C; c++) yr[c] = xr[c] * a[c] + b[c];
    }
}

void bn_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                const float *beta, float *run_mean, float *run_var, int N, int C, int train, float momentum,
                float eps, int T, double *scratch) {
    double *s = scratch + RM_ROUT, *s2 = s + C;
    if (train) {
        col_reduce(s, s2, x, 0, NULL, 0, NULL, N, C, R_SUMSQ, scratch);   /* one pass: sum and sum of squares */
        bn_finish(mean, rstd, run_mean, run_var, s, s2, N, C, momentum, eps);
    } else {
        for (int c = 0; c < C; c++) { mean[c] = run_mean[c]; rstd[c] = 1.0f / sqrtf(run_var[c] + eps); }
    }
    bn_apply(y, x, mean, rstd, gamma, beta, N, C, T);
}

void bn_forward_summed(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                       float *run_mean, float *run_var, int N, int C, float momentum, float eps, int T, double *scratch) {
    double *s = scratch + RM_ROUT, *s2 = s + C;
    bn_finish(mean, rstd, run_mean, run_var, s, s2, N, C, momentum, eps);
    bn_apply(y, x, mean, rstd, gamma, beta, N, C, T);
}

/* the reduction half of BatchNorm backward: dgamma, dbeta accumulated, the coefficients of dx in bg */
void bn_backward_reduce(rm_bn_grad *bg, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *gamma, const float *rstd, int N, int C, int train, int T, double *scratch) {
    double *sdb = scratch + RM_ROUT, *sdg = sdb + C;
    col_reduce(sdb, sdg, dy, T, x, 0, mean, N, C, R_PROD, scratch);   /* sum dy, sum dy*(x-mean) in one pass */
    for (int c = 0; c < C; c++) {
        sdg[c] *= rstd[c];                              /* sum dy*xhat */
        dgamma[c] += (float)sdg[c];
        dbeta[c] += (float)sdb[c];
        bg->g[c] = gamma[c] * rstd[c];
        bg->k1[c] = train ? (float)(sdb[c] / N) : 0.0f;   /* mean(dy) */
        bg->k2[c] = train ? (float)(sdg[c] / N) * rstd[c] : 0.0f;   /* mean(dy*xhat) * rstd */
    }
    bg->dy = dy; bg->x = x; bg->mean = mean; bg->dyT = T;
}

static void bn_backward_impl(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                             const float *gamma, const float *rstd, int N, int C, int train, int T, double *scratch, int acc) {
    int B = T > 0 ? N / T : 0;
    rm_bn_grad bg;
    bn_backward_reduce(&bg, dgamma, dbeta, dy, x, mean, gamma, rstd, N, C, train, T, scratch);
    const float *g = bg.g, *k1 = bg.k1, *k2 = bg.k2;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        const float *dr = dy + prow(r, T, B) * C, *xr = x + (size_t)r * C;
        float *o = dx + (size_t)r * C;
        if (acc) {
#pragma omp simd
            for (int c = 0; c < C; c++) { float v = g[c] * (dr[c] - k1[c] - (xr[c] - mean[c]) * k2[c]); o[c] += v; }
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++) o[c] = g[c] * (dr[c] - k1[c] - (xr[c] - mean[c]) * k2[c]);
        }
    }
}

void bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                 const float *gamma, const float *rstd, int N, int C, int train, int T, double *scratch) {
    bn_backward_impl(dx, dgamma, dbeta, dy, x, mean, gamma, rstd, N, C, train, T, scratch, 0);
}

void bn_backward_acc(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                     const float *gamma, const float *rstd, int N, int C, int train, int T, double *scratch) {
    bn_backward_impl(dx, dgamma, dbeta, dy, x, mean, gamma, rstd, N, C, train, T, scratch, 1);
}

/* ---- LayerScale affine + residual ------------------------------------------------------------ */

/* the bias of the linear that produced v, added to v before the LayerScale: per token (vT > 0: row r of the
 * logical (N,C) is token r % vT) or per channel; vb NULL: none. vbias(...)[c] is then added to v[c]. */
static inline const float *vbias(const float *vb, float *tmp, int r, int vT, int C) {
    if (!vb || vT <= 0) return vb;
    float t = vb[r % vT];
    for (int c = 0; c < C; c++) tmp[c] = t;
    return tmp;
}
static const float zeros[RM_MAXC];

void affine_residual_forward_b(float *out, const float *x, const float *v, const float *vb, const float *w, const float *b,
                               int N, int C, int T) {
    int B = T > 0 ? N / T : 0;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        float tmp[RM_MAXC];
        const float *xr = x + (size_t)r * C;
        const float *vr = v + prow(r, T, B) * C, *bb = vb ? vbias(vb, tmp, r, T, C) : zeros;
        float *o = out + (size_t)r * C;
        if (vb) {
#pragma omp simd
            for (int c = 0; c < C; c++) o[c] = xr[c] + (vr[c] + bb[c]) * w[c] + b[c];
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++) o[c] = xr[c] + vr[c] * w[c] + b[c];
        }
    }
}

void affine_residual_forward(float *out, const float *x, const float *v, const float *w, const float *b,
                             int N, int C, int T) {
    affine_residual_forward_b(out, x, v, NULL, w, b, N, C, T);
}

// one pass: the column sums of dout and dout*v in col_reduce's chunks and order, and dv = dout*w
void affine_residual_backward(float *dv, float *dw, float *db, const float *dout, const float *v,
                              const float *w, int N, int C, int T, double *scratch) {
    int B = T > 0 ? N / T : 0;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < RM_RCHUNKS; k++) {
        double *acc1 = scratch + (size_t)k * 2 * C, *acc2 = acc1 + C;
        for (int c = 0; c < C; c++) acc1[c] = acc2[c] = 0;
        int r0 = (int)((long)N * k / RM_RCHUNKS), r1 = (int)((long)N * (k + 1) / RM_RCHUNKS);
        float l1[RM_MAXC], l2[RM_MAXC];
        for (int c = 0; c < C; c++) l1[c] = l2[c] = 0;
        for (int r = r0; r < r1; r++) {
            const float *d = dout + (size_t)r * C, *vr = v + prow(r, T, B) * C;
            float *o = dv + prow(r, T, B) * C;
#pragma omp simd
            for (int c = 0; c < C; c++) { l1[c] += d[c]; l2[c] += d[c] * vr[c]; o[c] = d[c] * w[c]; }
            if (((r - r0) & 31) == 31)
                for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; l1[c] = l2[c] = 0; }
        }
        for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; }
    }
    for (int c = 0; c < C; c++) {
        double x1 = 0, x2 = 0;
        for (int k = 0; k < RM_RCHUNKS; k++) { x1 += scratch[(size_t)k * 2 * C + c]; x2 += scratch[(size_t)k * 2 * C + C + c]; }
        db[c] += (float)x1;
        dw[c] += (float)x2;
    }
}

/* ---- fused passes (each bit-identical to the unfused sequence it replaces) ---------------------- */

// ds (N,C) is the gradient of a stream state. One pass, in col_reduce's chunks and order:
//   bg: ds = (acc ? ds + : ) the BatchNorm dx of bg (bn_backward_reduce ran before);
//   v:  the LayerScale backward of out = x + (v + vb)*w + b that wrote this state: dv = ds*w (layout of v),
//       dw += sum ds*(v + vb), db += sum ds, dvb (if not NULL) += sum dv (the bias gradient of the linear
//       that produced v; vb is that bias, per channel (vT == 0) or per token (vT > 0), or NULL);
//   no v: db (if not NULL) += sum ds (the gradient of a bias that fed the stream, e.g. the embedding's).
// Bit-identical to bn_backward(_acc), then affine_residual_backward, then linear_backward's bias sum.
void stream_backward(float *ds, const rm_bn_grad *bg, int acc, float *dv, float *dw, float *db, float *dvb,
                     const float *v, const float *vb, const float *w, int N, int C, int vT, double *scratch) {
    int B = vT > 0 ? N / vT : 0, dB = bg && bg->dyT > 0 ? N / bg->dyT : 0;
    int ls = v != NULL, sum3 = ls && dvb;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < RM_RCHUNKS; k++) {
        double *acc1 = scratch + (size_t)k * 3 * C, *acc2 = acc1 + C, *acc3 = acc2 + C;
        for (int c = 0; c < C; c++) acc1[c] = acc2[c] = acc3[c] = 0;
        int r0 = (int)((long)N * k / RM_RCHUNKS), r1 = (int)((long)N * (k + 1) / RM_RCHUNKS);
        float l1[RM_MAXC], l2[RM_MAXC], l3[RM_MAXC];
        for (int c = 0; c < C; c++) l1[c] = l2[c] = l3[c] = 0;
        for (int r = r0; r < r1; r++) {
            float *d = ds + (size_t)r * C;
            if (bg) {
                const float *g = bg->g, *k1 = bg->k1, *k2 = bg->k2, *mean = bg->mean;
                const float *dr = bg->dy + prow(r, bg->dyT, dB) * C, *xr = bg->x + (size_t)r * C;
                if (acc) {
#pragma omp simd
                    for (int c = 0; c < C; c++) { float t = g[c] * (dr[c] - k1[c] - (xr[c] - mean[c]) * k2[c]); d[c] += t; }
                } else {
#pragma omp simd
                    for (int c = 0; c < C; c++) d[c] = g[c] * (dr[c] - k1[c] - (xr[c] - mean[c]) * k2[c]);
                }
            }
            if (ls) {
                const float *vr = v + prow(r, vT, B) * C;
                float *o = dv + prow(r, vT, B) * C;
                if (vb && vT > 0) {
                    float bt = vb[r % vT];
#pragma omp simd
                    for (int c = 0; c < C; c++) { float o_ = d[c] * w[c]; l1[c] += d[c]; l2[c] += d[c] * (vr[c] + bt); o[c] = o_; l3[c] += o_; }
                } else if (vb) {
#pragma omp simd
                    for (int c = 0; c < C; c++) { float o_ = d[c] * w[c]; l1[c] += d[c]; l2[c] += d[c] * (vr[c] + vb[c]); o[c] = o_; l3[c] += o_; }
                } else {
#pragma omp simd
                    for (int c = 0; c < C; c++) { float o_ = d[c] * w[c]; l1[c] += d[c]; l2[c] += d[c] * vr[c]; o[c] = o_; l3[c] += o_; }
                }
            } else if (db) {
#pragma omp simd
                for (int c = 0; c < C; c++) l1[c] += d[c];
            }
            if (((r - r0) & 31) == 31)
                for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; acc3[c] += l3[c]; l1[c] = l2[c] = l3[c] = 0; }
        }
        for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; acc3[c] += l3[c]; }
    }
    if (!ls && !db) return;
    for (int c = 0; c < C; c++) {
        double x1 = 0, x2 = 0, x3 = 0;
        for (int k = 0; k < RM_RCHUNKS; k++) {
            const double *a = scratch + (size_t)k * 3 * C;
            x1 += a[c]; x2 += a[C + c]; x3 += a[2 * C + c];
        }
        db[c] += (float)x1;
        if (ls) dw[c] += (float)x2;
        if (sum3) dvb[c] += (float)x3;
    }
}


// x, out (N,C); v (N,C) or (T,B,C). out = x + v*w + b, and in the same pass the column sums and sums of
// squares of out in col_reduce's chunks and order, left at scratch + RM_ROUT for bn_forward_summed.
void affine_residual_forward_sumsq(float *out, const float *x, const float *v, const float *vb, const float *w, const float *b,
                                   int N, int C, int T, double *scratch) {
    int B = T > 0 ? N / T : 0;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < RM_RCHUNKS; k++) {
        double *acc1 = scratch + (size_t)k * 2 * C, *acc2 = acc1 + C;
        for (int c = 0; c < C; c++) acc1[c] = acc2[c] = 0;
        int r0 = (int)((long)N * k / RM_RCHUNKS), r1 = (int)((long)N * (k + 1) / RM_RCHUNKS);
        float l1[RM_MAXC], l2[RM_MAXC];
        for (int c = 0; c < C; c++) l1[c] = l2[c] = 0;
        float tmp[RM_MAXC];
        for (int r = r0; r < r1; r++) {
            const float *xr = x + (size_t)r * C, *vr = v + prow(r, T, B) * C, *bb = vb ? vbias(vb, tmp, r, T, C) : zeros;
            float *o = out + (size_t)r * C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float y = xr[c] + (vb ? vr[c] + bb[c] : vr[c]) * w[c] + b[c];
                o[c] = y;
                l1[c] += y;
                l2[c] += y * y;
            }
            if (((r - r0) & 31) == 31)
                for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; l1[c] = l2[c] = 0; }
        }
        for (int c = 0; c < C; c++) { acc1[c] += l1[c]; acc2[c] += l2[c]; }
    }
    double *s1 = scratch + RM_ROUT, *s2 = s1 + C;
    for (int c = 0; c < C; c++) {
        double a1 = 0, a2 = 0;
        for (int k = 0; k < RM_RCHUNKS; k++) { a1 += scratch[(size_t)k * 2 * C + c]; a2 += scratch[(size_t)k * 2 * C + C + c]; }
        s1[c] = a1;
        s2[c] = a2;
    }
}

// eval mode: out = x + v*w + b and y = BatchNorm(out) with the running statistics, in one pass;
// y (N,C), or (T,B,C) when yT > 0; mean/rstd receive the running values as bn_forward leaves them.
void affine_residual_bn_eval(float *out, float *y, float *mean, float *rstd, const float *x, const float *v,
                             const float *vb, const float *w, const float *b, const float *gamma, const float *beta,
                             const float *run_mean, const float *run_var, int N, int C, int vT, int yT, float eps) {
    for (int c = 0; c < C; c++) { mean[c] = run_mean[c]; rstd[c] = 1.0f / sqrtf(run_var[c] + eps); }
    float ka[RM_MAXC], kb[RM_MAXC];
    bn_coef(ka, kb, mean, rstd, gamma, beta, C);
    int vB = vT > 0 ? N / vT : 0, yB = yT > 0 ? N / yT : 0;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        float tmp[RM_MAXC];
        const float *xr = x + (size_t)r * C, *vr = v + prow(r, vT, vB) * C, *bb = vb ? vbias(vb, tmp, r, vT, C) : zeros;
        float *o = out + (size_t)r * C, *yr = y + prow(r, yT, yB) * C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            float t = xr[c] + (vb ? vr[c] + bb[c] : vr[c]) * w[c] + b[c];
            o[c] = t;
            yr[c] = t * ka[c] + kb[c];
        }
    }
}

/* ReLU with the bias of the preceding linear fused in: h (N,C) = max(0, h + b), in place */
void relu_bias_forward(float *h, const float *b, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        float *hr = h + (size_t)r * C;
#pragma omp simd
        for (int c = 0; c < C; c++) { float v = hr[c] + b[c]; hr[c] = v > 0 ? v : 0; }
    }
}
// dy, h (post-ReLU output) are (N,C): dx = dy * (h > 0); db += colsum(dx), one pass, chunked like col_reduce
void relu_bias_backward(float *dx, float *db, const float *dy, const float *h, int N, int C, double *scratch) {
#pragma omp parallel for schedule(static)
    for (int k = 0; k < RM_RCHUNKS; k++) {
        double *acc = scratch + (size_t)k * 2 * C;
        for (int c = 0; c < C; c++) acc[c] = 0;
        int r0 = (int)((long)N * k / RM_RCHUNKS), r1 = (int)((long)N * (k + 1) / RM_RCHUNKS);
        float l[RM_MAXC];
        for (int c = 0; c < C; c++) l[c] = 0;
        for (int r = r0; r < r1; r++) {
            const float *dr = dy + (size_t)r * C, *hr = h + (size_t)r * C;
            float *o = dx + (size_t)r * C;
#pragma omp simd
            for (int c = 0; c < C; c++) { float v = hr[c] > 0 ? dr[c] : 0; o[c] = v; l[c] += v; }
            if (((r - r0) & 31) == 31) for (int c = 0; c < C; c++) { acc[c] += l[c]; l[c] = 0; }
        }
        for (int c = 0; c < C; c++) acc[c] += l[c];
    }
    for (int c = 0; c < C; c++) {
        double x = 0;
        for (int k = 0; k < RM_RCHUNKS; k++) x += scratch[(size_t)k * 2 * C + c];
        db[c] += (float)x;
    }
}

/* ---- token mixing ---------------------------------------------------------------------------- */

// u, v are (T, BC); w is (T,T); b is (T)
void tokmix_forward(float *v, const float *u, const float *w, const float *b, int T, int BC) {
    if (!b) { rm_gemm(0, 0, T, BC, T, 1.0f, w, T, u, BC, 0.0f, v, BC); return; }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        float *vr = v + (size_t)t * BC;
        for (int j = 0; j < BC; j++) vr[j] = b[t];
    }
    rm_gemm(0, 0, T, BC, T, 1.0f, w, T, u, BC, 1.0f, v, BC);
}

// db[t] += sum_j dv[t][j]: eight double lanes (lane i takes j = i mod 8), added in lane order; the
// same order for any number of threads
void tokmix_bias_backward(float *db, const float *dv, int T, int BC) {
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        const float *r = dv + (size_t)t * BC;
        double l[8] = {0};
        int j = 0;
        for (; j + 8 <= BC; j += 8)
#pragma omp simd
            for (int i = 0; i < 8; i++) l[i] += r[j + i];
        for (; j < BC; j++) l[j & 7] += r[j];
        double s = 0;
        for (int i = 0; i < 8; i++) s += l[i];
        db[t] += (float)s;
    }
}

void tokmix_backward(float *du, float *dw, float *db, const float *dv, const float *u, const float *w, int T, int BC) {
    if (dw) {
        rm_gemm(0, 1, T, T, BC, 1.0f, dv, BC, u, BC, 1.0f, dw, T);
        if (db) tokmix_bias_backward(db, dv, T, BC);
    }
    if (du) rm_gemm(1, 0, T, BC, T, 1.0f, w, T, dv, BC, 0.0f, du, BC);
}

/* ---- pooling --------------------------------------------------------------------------------- */

// u is (B,T,C); p is (B,C)
void meanpool_forward(float *p, const float *u, int B, int T, int C) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *pb = p + (size_t)b * C;
        for (int c = 0; c < C; c++) pb[c] = 0;
        for (int t = 0; t < T; t++) {
            const float *ur = u + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) pb[c] += ur[c];
        }
        for (int c = 0; c < C; c++) pb[c] /= T;
    }
}
void meanpool_backward(float *du, const float *dp, int B, int T, int C) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *ur = du + ((size_t)b * T + t) * C;
            const float *pb = dp + (size_t)b * C;
            for (int c = 0; c < C; c++) ur[c] = pb[c] / T;
        }
}

/* ---- losses ---------------------------------------------------------------------------------- */

/* log-softmax of z/T into out (K) and returns nothing; numerically stable */
static void log_softmax(double *out, const float *z, int K, float T) {
    double m = -INFINITY;
    for (int k = 0; k < K; k++) if (z[k] / T > m) m = z[k] / T;
    double s = 0;
    for (int k = 0; k < K; k++) s += exp(z[k] / T - m);
    double ls = m + log(s);
    for (int k = 0; k < K; k++) out[k] = z[k] / T - ls;
}

float cross_entropy(float *dz, const float *z, const int *y, int B, int K) {
    double loss = 0, ls[256];
    for (int b = 0; b < B; b++) {
        log_softmax(ls, z + (size_t)b * K, K, 1.0f);
        loss -= ls[y[b]];
        if (dz) for (int k = 0; k < K; k++) dz[(size_t)b * K + k] = (float)((exp(ls[k]) - (k == y[b])) / B);
    }
    return (float)(loss / B);
}

float kd_loss(float *dz, const float *zs, const float *zt, const int *y, int B, int K, float alpha, float T) {
    double loss = 0, ls[256], lt[256], l1[256];
    for (int b = 0; b < B; b++) {
        const float *s = zs + (size_t)b * K, *t = zt + (size_t)b * K;
        log_softmax(ls, s, K, T);
        log_softmax(lt, t, K, T);
        log_softmax(l1, s, K, 1.0f);
        double kl = 0;
        for (int k = 0; k < K; k++) kl += exp(lt[k]) * (lt[k] - ls[k]);
        loss += alpha * T * T * kl - (1 - alpha) * l1[y[b]];
        if (dz)
            for (int k = 0; k < K; k++)
                dz[(size_t)b * K + k] = (float)((alpha * T * (exp(ls[k]) - exp(lt[k])) +
                                                 (1 - alpha) * (exp(l1[k]) - (k == y[b]))) / B);
    }
    return (float)(loss / B);
}

float mse_loss(float *da, const float *a, const float *b, size_t n) {
    double s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        s += (double)d * d;
        if (da) da[i] = 2.0f * d / (float)n;
    }
    return (float)(s / n);
}
