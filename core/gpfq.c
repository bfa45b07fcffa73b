/* gpfq.c - GPFQ and MSQ weight quantisation (see gpfq.h): alphabet, rounding, the reference walk over u,
 * the Gram walk (parallel over neurons), the calibration error, and the layer-by-layer driver that streams
 * calibration chunks through the fp32 and the partly quantised model. */
#include "gpfq.h"
#include "gemm.h"
#include "net.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rm_alphabet(float *a, int levels, float rad) {
    for (int i = 0; i < levels; i++) a[i] = (float)(rad * (-1.0 + 2.0 * i / (levels - 1)));
}

float rm_alphabet_round(double v, int levels, float rad) {
    if (!(rad > 0)) return 0;
    double step = 2.0 * rad / (levels - 1);
    double k = floor((v + rad) / step + 0.5);
    if (!(k >= 0)) k = 0;          /* also NaN */
    if (k > levels - 1) k = levels - 1;
    return (float)(rad * (-1.0 + 2.0 * (int)k / (levels - 1)));
}

static int cmpf(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float rm_median_abs(const float *w, size_t n) {
    if (!n) return 0;
    float *t = malloc(n * sizeof *t);
    if (!t) return 0;
    for (size_t i = 0; i < n; i++) t[i] = fabsf(w[i]);
    qsort(t, n, sizeof *t, cmpf);
    float m = n % 2 ? t[n / 2] : (float)(0.5 * ((double)t[n / 2 - 1] + t[n / 2]));
    free(t);
    return m;
}

int rm_levels_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "ternary") || !strcmp(s, "1.58") || !strcmp(s, "log2(3)")) return 3;
    char *e;
    long b = strtol(s, &e, 10);
    if (e == s || *e || b < 1 || b > 8) return -1;
    return 1 << b;
}

const char *rm_levels_name(int levels, char *buf, size_t n) {
    if (levels == 3) snprintf(buf, n, "ternary");
    else snprintf(buf, n, "%d", (int)lround(log2(levels)));
    return buf;
}

void rm_msq(float *Q, const float *W, size_t n, int levels, float rad) {
    for (size_t i = 0; i < n; i++) Q[i] = rm_alphabet_round(W[i], levels, rad);
}

// X, Xq (m, N) row-major: column t is X[i*N + t]
void rm_gpfq_neuron_naive(float *q, const float *w, const float *X, const float *Xq, int m, int N, int levels,
                          float rad, double *u) {
    for (int i = 0; i < m; i++) u[i] = 0;
    for (int t = 0; t < N; t++) {
        double dot = 0, n2 = 0;
        for (int i = 0; i < m; i++) {
            double xq = Xq[(size_t)i * N + t];
            dot += xq * (u[i] + (double)w[t] * X[(size_t)i * N + t]);
            n2 += xq * xq;
        }
        q[t] = n2 > 0 ? rm_alphabet_round(dot / n2, levels, rad) : rm_alphabet_round(w[t], levels, rad);
        for (int i = 0; i < m; i++) u[i] += (double)w[t] * X[(size_t)i * N + t] - (double)q[t] * Xq[(size_t)i * N + t];
    }
}

#define NB 8   /* neurons walked together (one G row read serves NB neurons) */

// W, Q (rows, N); G1, G2 (N, N)
int rm_gpfq_gram(rm_ctx *ctx, float *Q, const float *W, int rows, int N, const double *G1, const double *G2,
                 int levels, float rad) {
    int nblk = (rows + NB - 1) / NB, fail = 0;
#pragma omp parallel
    {
        double *wt = malloc(sizeof(double) * (size_t)N * NB * 2);   /* (N, NB) w and q of the block */
        if (!wt) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < nblk; b++) {
            if (!wt) continue;
            double *qt = wt + (size_t)N * NB;
            int r0 = b * NB, nb = rows - r0 < NB ? rows - r0 : NB;
            for (int t = 0; t < N; t++)
                for (int k = 0; k < NB; k++) {
                    wt[(size_t)t * NB + k] = k < nb ? W[(size_t)(r0 + k) * N + t] : 0;
                    qt[(size_t)t * NB + k] = 0;
                }
            for (int t = 0; t < N; t++) {
                const double *g1 = G1 + (size_t)t * N, *g2 = G2 + (size_t)t * N;
                double acc[NB] = {0};
                for (int s = 0; s < t; s++) {
                    const double a = g1[s], c = g2[s];
                    const double *ws = wt + (size_t)s * NB, *qs = qt + (size_t)s * NB;
#pragma omp simd
                    for (int k = 0; k < NB; k++) acc[k] += a * ws[k] - c * qs[k];
                }
                double d = g2[t];
                for (int k = 0; k < NB; k++) {
                    double wv = wt[(size_t)t * NB + k];
                    double v = d > 0 ? (acc[k] + g1[t] * wv) / d : wv;
                    qt[(size_t)t * NB + k] = rm_alphabet_round(v, levels, rad);
                }
            }
            for (int k = 0; k < nb; k++)
                for (int t = 0; t < N; t++) Q[(size_t)(r0 + k) * N + t] = (float)qt[(size_t)t * NB + k];
        }
        free(wt);
    }
    return fail ? rm_err(ctx, "gpfq: out of memory for the walk buffers") : RM_OK;
}

int rm_gpfq_err(rm_ctx *ctx, double *e2, double *ref2, const float *W, const float *Q, int rows, int N, const double *G0,
                const double *G1, const double *G2) {
    size_t nn = (size_t)N * N;
    float *g = rm_malloc(ctx, sizeof(float) * nn, "error gram"), *P = rm_malloc(ctx, sizeof(float) * rows * N, "error products");
    if (!g || !P) { free(g); free(P); return RM_ERR; }
    const double *Gs[3] = {G0, G1, G2};
    const float *left[3] = {W, W, Q}, *right[3] = {W, Q, Q};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < nn; i++) g[i] = (float)Gs[k][i];
        // P (rows,N) = left (rows,N) * G^T: P[r,t] = sum_s G[t,s] left[r,s]
        rm_gemm(0, 1, rows, N, N, 1.0f, left[k], N, g, N, 0.0f, P, N);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            double s = 0;
            const float *a = right[k] + (size_t)r * N, *b = P + (size_t)r * N;
            for (int t = 0; t < N; t++) s += (double)a[t] * b[t];
            if (k == 0) ref2[r] = s;          /* w^T G0 w = ||Xw||^2 */
            else if (k == 1) e2[r] = -2 * s;  /* q^T G1 w = <X~q, Xw> */
            else e2[r] += s;                  /* q^T G2 q = ||X~q||^2 */
        }
    }
    for (int r = 0; r < rows; r++) { e2[r] += ref2[r]; if (e2[r] < 0) e2[r] = 0; }
    free(g); free(P);
    return RM_OK;
}

rm_gpfq_opts rm_gpfq_defaults(void) {
    return (rm_gpfq_opts){.method = RM_QM_GPFQ, .levels = 3, .scalar = 2, .samples = 5000, .chunk = 256, .seed = 1};
}

/* G += A^T B for a chunk: rows layout A, B (r, N); trans layout (N, r). tmp is (N,N) floats. */
static void gram_add(double *G, float *tmp, const float *A, const float *B, int r, int N, int trans) {
    if (trans) rm_gemm(0, 1, N, N, r, 1.0f, A, r, B, r, 0.0f, tmp, N);
    else rm_gemm(1, 0, N, N, r, 1.0f, A, N, B, N, 0.0f, tmp, N);
    size_t nn = (size_t)N * N;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < nn; i++) G[i] += tmp[i];
}

/* im2col of samples [s0, s0+g) of map (B, C*H*W; NHWC or CHW): A (g*OH*OW, C*k*k), row (sample, oy, ox),
 * column c*k*k + ky*k + kx (the conv weight's (OC, C, k, k) order), zeros outside the map (padding) */
static void im2col(float *A, const float *map, int s0, int g, int C, int H, int W, int nhwc, int k, int st, int pad,
                   int OH, int OW) {
    const int N = C * k * k;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < g; b++)
        for (int oy = 0; oy < OH; oy++) {
            const float *mp = map + (size_t)(s0 + b) * C * H * W;
            for (int ox = 0; ox < OW; ox++) {
                float *a = A + (((size_t)b * OH + oy) * OW + ox) * N;
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * st - pad + ky, ix = ox * st - pad + kx;
                            a[(c * k + ky) * k + kx] = iy < 0 || iy >= H || ix < 0 || ix >= W ? 0
                                                     : nhwc ? mp[((size_t)iy * W + ix) * C + c] : mp[((size_t)c * H + iy) * W + ix];
                        }
            }
        }
}

/* a conv layer's Gram matrices for one calibration batch x (B samples): X = im2col of the fp32 model's input
 * map, X~ of the partly quantised one's, streamed a few samples at a time through A, Aq (cap rows x N) */
static int conv_grams(rm_ctx *ctx, rm_model *fp, rm_model *q, const rm_wlayer *L, const float *x, int B, int any_quant,
                      double *G0, double *G1, double *G2, float *tmp, float **A, float **Aq, size_t *cap) {
    const rm_nlayer_spec *sp = &rm_net_spec_of(fp)->l[L->index];
    const float *mf, *mq = NULL;
    int C, H, W, nh, C2, H2, W2, nh2, N = L->cols;
    if (rm_wlayer_conv_input(ctx, fp, L, x, B, &mf, &C, &H, &W, &nh)) return RM_ERR;
    if (any_quant && rm_wlayer_conv_input(ctx, q, L, x, B, &mq, &C2, &H2, &W2, &nh2)) return RM_ERR;
    if (C * sp->k * sp->k != N) return rm_err(ctx, "gpfq: %s: input map of %d channels for %d weight columns", L->name, C, N);
    int OH = (H + 2 * sp->pad - sp->k) / sp->stride + 1, OW = (W + 2 * sp->pad - sp->k) / sp->stride + 1;
    size_t per = (size_t)OH * OW;
    int g = (int)((size_t)(1 << 21) / (per * N));   /* samples per im2col step: about 8 MB of patches */
    if (g < 1) g = 1;
    if (g > B) g = B;
    size_t need = (size_t)g * per * N;
    if (need > *cap) {
        free(*A); free(*Aq);
        *A = rm_malloc(ctx, sizeof(float) * need, "im2col patches");
        *Aq = rm_malloc(ctx, sizeof(float) * need, "im2col patches");
        *cap = *A && *Aq ? need : 0;
        if (!*cap) return RM_ERR;
    }
    for (int s0 = 0; s0 < B; s0 += g) {
        int gg = B - s0 < g ? B - s0 : g, r = gg * (int)per;
        im2col(*A, mf, s0, gg, C, H, W, nh, sp->k, sp->stride, sp->pad, OH, OW);
        gram_add(G0, tmp, *A, *A, r, N, 0);
        if (mq) {
            im2col(*Aq, mq, s0, gg, C2, H2, W2, nh2, sp->k, sp->stride, sp->pad, OH, OW);
            gram_add(G1, tmp, *Aq, *A, r, N, 0);
            gram_add(G2, tmp, *Aq, *Aq, r, N, 0);
        }
    }
    return RM_OK;
}

int rm_gpfq_quantize(rm_ctx *ctx, rm_model *q, rm_model *fp, const rm_dataset *calib, const rm_gpfq_opts *o,
                     rm_gpfq_report *rep) {
    double t0 = rm_now();
    clock_t c0 = clock();
    memset(rep, 0, sizeof *rep);
    if (o->levels < 2 || o->levels > 256) return rm_err(ctx, "gpfq: alphabet of %d levels (2..256)", o->levels);
    if (!(o->scalar > 0)) return rm_err(ctx, "gpfq: alphabet scalar %g must be > 0", o->scalar);
    if (rm_model_copy_params(ctx, q, fp)) return rm_errprefix(ctx, "gpfq");
    rm_wlayer wl[RM_MAX_WLAYERS];
    int nl = rm_wlayers(fp, wl, RM_MAX_WLAYERS);
    int gpfq = o->method == RM_QM_GPFQ;
    int m = 0, chunk = o->chunk > 0 ? o->chunk : 256, maxn = 0;
    int *perm = NULL, *y = NULL;
    float *x = NULL, *tmp = NULL, *Wq = NULL, *A = NULL, *Aq = NULL;   /* A, Aq: conv im2col patches */
    size_t acap = 0;
    double *G = NULL;
    int st = RM_ERR;
    if (gpfq) {
        if (!calib || calib->n < 1) return rm_err(ctx, "gpfq: no calibration data");
        m = o->samples > 0 && o->samples < calib->n ? o->samples : calib->n;
        if (chunk > m) chunk = m;
        for (int i = 0; i < nl; i++) if (wl[i].cols > maxn) maxn = wl[i].cols;
        perm = rm_malloc(ctx, sizeof(int) * calib->n, "calibration index");
        y = rm_malloc(ctx, sizeof(int) * chunk, "calibration labels");
        x = rm_malloc(ctx, sizeof(float) * chunk * rm_model_input_size(fp), "calibration batch");
        tmp = rm_malloc(ctx, sizeof(float) * maxn * maxn, "gram chunk");
        G = rm_malloc(ctx, sizeof(double) * 3 * maxn * maxn, "gram matrices");
        if (!perm || !y || !x || !tmp || !G) goto done;
        for (int i = 0; i < calib->n; i++) perm[i] = i;
        uint64_t rng = o->seed ? o->seed : 1;
        if (m < calib->n) rm_shuffle(perm, calib->n, &rng);
    }
    rep->samples = m;
    int any_quant = 0;
    for (int li = 0; li < nl; li++) {
        const rm_wlayer *L = &wl[li];
        rm_gpfq_layer *R = &rep->l[rep->n++];
        double tl = rm_now();
        rm_wlayer_label(fp, L, R->label, sizeof R->label);
        R->rows = L->rows; R->cols = L->cols; R->err = R->err_msq = -1;
        if (L->wq != RM_WQ_FLOAT) { R->skipped = 1; continue; }
        float *W = rm_wlayer_w(fp, L), *Wdst = rm_wlayer_w(q, L);
        int N = L->cols, rows = L->rows;
        size_t nw = (size_t)rows * N;
        R->rad = o->scalar * rm_median_abs(W, nw);
        if (!gpfq) {
            rm_msq(Wdst, W, nw, o->levels, R->rad);
            rm_model_params_changed(q);
            R->seconds = rm_now() - tl;
            continue;
        }
        size_t nn = (size_t)N * N;
        double *G0 = G, *G1 = G + nn, *G2 = G + 2 * nn;
        memset(G, 0, sizeof(double) * 3 * nn);
        for (int s = 0; s < m; s += chunk) {
            if (rm_interrupted(ctx)) { rm_err(ctx, "gpfq interrupted"); goto done; }
            int B = m - s < chunk ? m - s : chunk;
            rm_wlayer_batch(fp, calib, perm + s, B, x, y);
            if (L->kind == RM_WL_NET_CONV) {   /* a Linear over im2col patches */
                if (conv_grams(ctx, fp, q, L, x, B, any_quant, G0, G1, G2, tmp, &A, &Aq, &acap)) goto done;
                continue;
            }
            const float *X, *Xq;
            int r, r2, tr, tr2;
            if (rm_wlayer_input(ctx, fp, L, x, B, &X, &r, &tr)) goto done;
            gram_add(G0, tmp, X, X, r, N, tr);
            if (any_quant) {
                if (rm_wlayer_input(ctx, q, L, x, B, &Xq, &r2, &tr2)) goto done;
                gram_add(G1, tmp, Xq, X, r, N, tr);
                gram_add(G2, tmp, Xq, Xq, r, N, tr);
            }
        }
        if (!any_quant) { memcpy(G1, G0, sizeof(double) * nn); memcpy(G2, G0, sizeof(double) * nn); }
        if (rm_gpfq_gram(ctx, Wdst, W, rows, N, G1, G2, o->levels, R->rad)) goto done;
        /* calibration error of the result and of plain rounding on the same inputs */
        double *e2 = malloc(sizeof(double) * rows * 2);
        Wq = malloc(sizeof(float) * nw);
        if (e2 && Wq) {
            double se = 0, sr = 0, sm = 0;
            if (rm_gpfq_err(ctx, e2, e2 + rows, W, Wdst, rows, N, G0, G1, G2)) { free(e2); goto done; }
            for (int r = 0; r < rows; r++) { se += e2[r]; sr += e2[rows + r]; }
            rm_msq(Wq, W, nw, o->levels, R->rad);
            if (rm_gpfq_err(ctx, e2, e2 + rows, W, Wq, rows, N, G0, G1, G2)) { free(e2); goto done; }
            for (int r = 0; r < rows; r++) sm += e2[r];
            R->err = sr > 0 ? sqrt(se / sr) : 0;
            R->err_msq = sr > 0 ? sqrt(sm / sr) : 0;
        }
        free(e2); free(Wq); Wq = NULL;
        any_quant = 1;
        rm_model_params_changed(q);
        R->seconds = rm_now() - tl;
    }
    st = RM_OK;
done:
    free(perm); free(y); free(x); free(tmp); free(G); free(Wq); free(A); free(Aq);
    rep->seconds = rm_now() - t0;
    rep->cpu_seconds = (double)(clock() - c0) / CLOCKS_PER_SEC;
    return st;
}
