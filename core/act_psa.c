/* act_psa.c - PSA activations: the smooth ResPSA (kind psa, evaluated on every element; the
 * reference) and LERP-PSA (kind lerp_psa, the paper's method: ResPSA sampled on a G-point grid once
 * per step, then linear interpolation per element). Also holds the generic per-channel table LERP
 * kernel (rm_lerp_*) shared with the linear B-spline in act_bspline.c.
 * The LERP kernels are gather-bound: with AVX-512 each row is processed 16 channels at a time,
 * fetching the (T[i], T[i+1]) pair of every lane with one 64-bit gather. Parameter gradients are
 * accumulated in a fixed number of row slots (not per thread) and reduced in slot order, so
 * results are bitwise identical for any number of OpenMP threads.
 * Does not: allocate in forward/backward, print, or look at anything beyond its arguments. */
#include "act_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------- generic table LERP kernel */

/* rows are split into this many fixed slots for gradient accumulation (independent of threads) */
#define LERP_SLOTS 16

/* prototypes shared with act_bspline.c (act_impl.h belongs to the dispatcher) */
size_t rm_lerp_worksize(int C, int G);
void rm_lerp_forward(const float *tab, int G, float s, float o, const float *x, float *y, int N, int C);
void rm_lerp_backward(const float *tab, int G, float s, float o, const float *x, const float *dy,
                      float *dx, float *slots, float *dtab, int N, int C);

/* scratch floats rm_lerp_backward needs for a (C,G) table */
size_t rm_lerp_worksize(int C, int G) { return (size_t)LERP_SLOTS * C * G; }

#ifdef __AVX512F__
/* one row, 16 channels from c0 (lanes past C masked by m): index and fraction of each lane */
static inline void lerp_locate(__m512 xv, __m512 vs, __m512 vo, __m512 vmax, __m512i cg,
                               __m512i *idx, __m512 *f) {
    __m512 t = _mm512_fmadd_ps(xv, vs, vo);
    __m512 fl = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    fl = _mm512_min_ps(_mm512_max_ps(fl, _mm512_setzero_ps()), vmax); /* NaN -> 0 */
    *f = _mm512_sub_ps(t, fl);
    *idx = _mm512_add_epi32(cg, _mm512_cvttps_epi32(fl));
}
/* gather (tab[idx], tab[idx+1]) for 16 lanes: two 8-lane 64-bit gathers, then deinterleave */
static inline void lerp_gather(const float *tab, __m512i idx, __mmask16 m, __m512 *lo, __m512 *hi) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512d g0 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)(m & 0xff),
                                          _mm512_castsi512_si256(idx), tab, 4);
    __m512d g1 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)(m >> 8),
                                          _mm512_extracti64x4_epi64(idx, 1), tab, 4);
    *lo = _mm512_permutex2var_ps(_mm512_castpd_ps(g0), even, _mm512_castpd_ps(g1));
    *hi = _mm512_permutex2var_ps(_mm512_castpd_ps(g0), odd, _mm512_castpd_ps(g1));
}
#endif

#define LERP_RB 64 /* rows per forward work item */

// rows r0..r1 of x, y (N,C); tab is (C,G)
static void lerp_fwd_rows(const float *tab, int G, float s, float o, const float *x, float *y, int C,
                          int r0, int r1) {
    const float maxi = (float)(G - 2);
#ifdef __AVX512F__
    const __m512 vs = _mm512_set1_ps(s), vo = _mm512_set1_ps(o), vmax = _mm512_set1_ps(maxi);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * C;
        float *yr = y + (size_t)r * C;
        for (int c0 = 0; c0 < C; c0 += 16) {
            __mmask16 m = C - c0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c0)) - 1);
            __m512i cg = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(c0)), _mm512_set1_epi32(G));
            __m512i idx; __m512 f, lo, hi;
            lerp_locate(_mm512_maskz_loadu_ps(m, xr + c0), vs, vo, vmax, cg, &idx, &f);
            lerp_gather(tab, idx, m, &lo, &hi);
            _mm512_mask_storeu_ps(yr + c0, m, _mm512_fmadd_ps(f, _mm512_sub_ps(hi, lo), lo));
        }
    }
#else
    for (int r = r0; r < r1; r++)
        for (int c = 0; c < C; c++) {
            float t = x[(size_t)r * C + c] * s + o, fl = floorf(t);
            fl = fl > 0 ? fl : 0; /* NaN -> 0 */
            fl = fl < maxi ? fl : maxi;
            const float *tc = tab + (size_t)c * G + (int)fl;
            y[(size_t)r * C + c] = tc[0] + (t - fl) * (tc[1] - tc[0]);
        }
#endif
}

// rows r0..r1 of x, dy, dx (N,C); tab, acc are (C,G)
static void lerp_bwd_rows(const float *tab, int G, float s, float o, const float *x, const float *dy,
                          float *dx, float *acc, int C, int r0, int r1) {
    const float maxi = (float)(G - 2);
#ifdef __AVX512F__
    const __m512 vs = _mm512_set1_ps(s), vo = _mm512_set1_ps(o), vmax = _mm512_set1_ps(maxi);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * C, *dyr = dy + (size_t)r * C;
        float *dxr = dx + (size_t)r * C;
        for (int c0 = 0; c0 < C; c0 += 16) {
            __mmask16 m = C - c0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c0)) - 1);
            __mmask8 m0 = (__mmask8)(m & 0xff), m1 = (__mmask8)(m >> 8);
            __m512i cg = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(c0)), _mm512_set1_epi32(G));
            __m512i idx; __m512 f, lo, hi;
            lerp_locate(_mm512_maskz_loadu_ps(m, xr + c0), vs, vo, vmax, cg, &idx, &f);
            lerp_gather(tab, idx, m, &lo, &hi);
            __m512 g = _mm512_maskz_loadu_ps(m, dyr + c0);
            _mm512_mask_storeu_ps(dxr + c0, m, _mm512_mul_ps(g, _mm512_mul_ps(_mm512_sub_ps(hi, lo), vs)));
            __m512 b1 = _mm512_mul_ps(g, f), b0 = _mm512_sub_ps(g, b1);
            /* (dy(1-f), dy f) pairs added to acc[c*G+i], acc[c*G+i+1]; lanes are distinct channels */
            __m256i i0 = _mm512_castsi512_si256(idx), i1 = _mm512_extracti64x4_epi64(idx, 1);
            __m512d a0 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m0, i0, acc, 4);
            __m512d a1 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m1, i1, acc, 4);
            a0 = _mm512_castps_pd(_mm512_add_ps(_mm512_castpd_ps(a0), _mm512_permutex2var_ps(b0, ilo, b1)));
            a1 = _mm512_castps_pd(_mm512_add_ps(_mm512_castpd_ps(a1), _mm512_permutex2var_ps(b0, ihi, b1)));
            _mm512_mask_i32scatter_pd(acc, m0, i0, a0, 4);
            _mm512_mask_i32scatter_pd(acc, m1, i1, a1, 4);
        }
    }
#else
    for (int r = r0; r < r1; r++)
        for (int c = 0; c < C; c++) {
            size_t e = (size_t)r * C + c;
            float t = x[e] * s + o, fl = floorf(t);
            fl = fl > 0 ? fl : 0;
            fl = fl < maxi ? fl : maxi;
            size_t i = (size_t)c * G + (int)fl;
            float f = t - fl, g = dy[e], b1 = g * f;
            dx[e] = g * ((tab[i + 1] - tab[i]) * s);
            acc[i] += g - b1;
            acc[i + 1] += b1;
        }
#endif
}

// x, y are (N,C); tab is (C,G). t = x*s + o, i = clamp(floor t, 0, G-2), f = t - i (unclamped),
// y = tab[c][i] + f*(tab[c][i+1] - tab[c][i])
void rm_lerp_forward(const float *tab, int G, float s, float o, const float *x, float *y, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int r0 = 0; r0 < N; r0 += LERP_RB) {
        int r1 = N - r0 < LERP_RB ? N : r0 + LERP_RB;
        lerp_fwd_rows(tab, G, s, o, x, y, C, r0, r1);
    }
}

// x, dy, dx are (N,C); tab, dtab are (C,G); slots holds rm_lerp_worksize(C,G) floats.
// dx = dy * (tab[i+1]-tab[i]) * s (overwritten); dtab[c][i] += sum dy*(1-f), dtab[c][i+1] += sum dy*f.
// Rows go to LERP_SLOTS fixed slots, each with its own (C,G) accumulator, summed in slot order.
void rm_lerp_backward(const float *tab, int G, float s, float o, const float *x, const float *dy,
                      float *dx, float *slots, float *dtab, int N, int C) {
    const size_t CG = (size_t)C * G;
#pragma omp parallel for schedule(static)
    for (int sl = 0; sl < LERP_SLOTS; sl++) {
        float *acc = slots + sl * CG;
        memset(acc, 0, CG * sizeof(float));
        int r0 = (int)((long long)N * sl / LERP_SLOTS), r1 = (int)((long long)N * (sl + 1) / LERP_SLOTS);
        lerp_bwd_rows(tab, G, s, o, x, dy, dx, acc, C, r0, r1);
    }
    /* reduce the slots in slot order: deterministic for any thread count */
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < CG; j++) {
        float sum = 0;
        for (int sl = 0; sl < LERP_SLOTS; sl++) sum += slots[sl * CG + j];
        dtab[j] += sum;
    }
}

/* ---------------------------------------------------------------- PSA math on blocks of points */

typedef struct psa_ch { const float *v, *w, *b; float ow, ob; int E; float eps; } psa_ch;

static psa_ch psa_channel(const rm_act_cfg *cfg, int C, const float *p, int c) {
    size_t CE = (size_t)C * cfg->E;
    psa_ch h = {p + (size_t)c * cfg->E, p + CE + (size_t)c * cfg->E, p + 2 * CE + (size_t)c * cfg->E,
                p[3 * CE + c], p[3 * CE + C + c], cfg->E, cfg->eps};
    return h;
}

/* exp for x <= 0 (softmax after max subtraction), Cephes polynomial, ~2 ulp; plain arithmetic so
 * that the loops below vectorise (libm expf does not without -ffast-math) */
static inline float exp_neg(float x) {
    x = x > -87.0f ? x : -87.0f;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    q = q * r * r + r + 1.0f;
    union { int32_t i; float f; } sc = {.i = ((int32_t)n + 127) << 23};
    return q * sc.f;
}

#define PB 64 /* points per block */

/* n <= PB points x: softmax weights a[k][j] and sv[j] = sum_k a_k v_k; y[j] = ResPSA(x_j) if y */
static void psa_block(const psa_ch *h, const float *x, int n, float a[][PB], float *sv, float *y) {
    float mx[PB], Z[PB];
    for (int j = 0; j < n; j++) { mx[j] = -INFINITY; Z[j] = 0; sv[j] = 0; }
    for (int k = 0; k < h->E; k++) {
        float inv = 1.0f / (h->w[k] * h->w[k] + h->eps), bk = h->b[k];
        for (int j = 0; j < n; j++) {
            float d = x[j] - bk, l = -d * d * inv;
            a[k][j] = l;
            mx[j] = l > mx[j] ? l : mx[j];
        }
    }
    for (int k = 0; k < h->E; k++) {
        float vk = h->v[k];
        for (int j = 0; j < n; j++) {
            float e = exp_neg(a[k][j] - mx[j]);
            a[k][j] = e; Z[j] += e; sv[j] += e * vk;
        }
    }
    for (int j = 0; j < n; j++) Z[j] = 1.0f / Z[j];
    for (int k = 0; k < h->E; k++)
        for (int j = 0; j < n; j++) a[k][j] *= Z[j];
    for (int j = 0; j < n; j++) {
        sv[j] *= Z[j];
        if (y) y[j] = x[j] + h->ow * sv[j] * x[j] + h->ob;
    }
}

/* gradient of ResPSA at n <= PB points x for upstream g: accumulates gl = (gv (E), gw (E), gb (E),
 * gow, gob); writes dx[j] = g_j * ResPSA'(x_j) if dx */
static void psa_block_grad(const psa_ch *h, const float *x, const float *g, int n, float *gl, float *dx) {
    float a[64][PB], sv[PB], dsv[PB], dxl[PB];
    const int E = h->E;
    psa_block(h, x, n, a, sv, NULL);
    float gow = 0, gob = 0;
#pragma omp simd reduction(+:gow, gob)
    for (int j = 0; j < n; j++) {
        gob += g[j];
        gow += g[j] * sv[j] * x[j];
        dsv[j] = g[j] * h->ow * x[j];
        dxl[j] = g[j] + g[j] * h->ow * sv[j];
    }
    gl[3 * E] += gow;
    gl[3 * E + 1] += gob;
    for (int k = 0; k < E; k++) {
        float inv = 1.0f / (h->w[k] * h->w[k] + h->eps), bk = h->b[k], vk = h->v[k], wk = h->w[k];
        float gv = 0, gw = 0, gb = 0;
#pragma omp simd reduction(+:gv, gw, gb)
        for (int j = 0; j < n; j++) {
            float d = x[j] - bk, ak = a[k][j];
            float ds = -ak * dsv[j] * (vk - sv[j]); /* dL/ds_k, s_k = d^2 * inv */
            float dd = ds * 2 * d * inv;            /* ds * ds_k/dx */
            gv += dsv[j] * ak;
            gb -= dd;
            gw -= dd * wk * d * inv;                /* ds * ds_k/dw = ds * (-2 w d^2 inv^2) */
            dxl[j] += dd;
        }
        gl[k] += gv; gl[E + k] += gw; gl[2 * E + k] += gb;
    }
    if (dx) for (int j = 0; j < n; j++) dx[j] = dxl[j];
}

static inline float grid_x(const rm_act_cfg *cfg, int j) {
    return (float)(-(double)cfg->R + (double)j * 2.0 * cfg->R / (cfg->G - 1));
}

/* T (G) = ResPSA_c(grid) */
static void psa_build_channel(const rm_act_cfg *cfg, int C, const float *p, int c, float *T) {
    psa_ch h = psa_channel(cfg, C, p, c);
    float a[64][PB], sv[PB], xs[PB];
    for (int j0 = 0; j0 < cfg->G; j0 += PB) {
        int n = cfg->G - j0 < PB ? cfg->G - j0 : PB;
        for (int j = 0; j < n; j++) xs[j] = grid_x(cfg, j0 + j);
        psa_block(&h, xs, n, a, sv, T + j0);
    }
}

/* ---------------------------------------------------------------- public (act_impl.h) */

size_t psa_nparams(const rm_act_cfg *cfg, int C) { return (size_t)C * (3 * cfg->E + 2); }

void psa_init(const rm_act_cfg *cfg, int C, float *p, uint64_t *rng) {
    size_t CE = (size_t)C * cfg->E;
    for (size_t i = 0; i < CE; i++) p[i] = 4.0f * rm_rng_normal(rng);
    for (size_t i = 0; i < CE; i++) p[CE + i] = 1.0f;
    for (size_t i = 0; i < CE; i++) p[2 * CE + i] = 2.0f * rm_rng_uniform(rng) - 1.0f;
    for (int c = 0; c < C; c++) { p[3 * CE + c] = 1.0f; p[3 * CE + C + c] = 0.0f; }
}

/* psa: LERP_SLOTS parameter-gradient slots. lerp_psa: T (C,G), dT (C,G), LERP slots.
 * Gradient slots are a fixed count (not per thread) so nthreads only needs to be <= LERP_SLOTS
 * for full parallelism in backward. */
size_t psa_worksize(const rm_act_cfg *cfg, int C, int nthreads) {
    if (cfg->kind == RM_ACT_LERP_PSA) return 2 * (size_t)C * cfg->G + rm_lerp_worksize(C, cfg->G);
    return (size_t)LERP_SLOTS * psa_nparams(cfg, C);
}

void psa_prepare(const rm_act_cfg *cfg, int C, const float *p, float *work) {
    if (cfg->kind != RM_ACT_LERP_PSA) return;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) psa_build_channel(cfg, C, p, c, work + (size_t)c * cfg->G);
}

static inline float lerp_s(const rm_act_cfg *cfg) { return (float)((cfg->G - 1) / (2.0 * cfg->R)); }
static inline float lerp_o(const rm_act_cfg *cfg) { return 0.5f * (float)(cfg->G - 1); }

// x, y are (N,C)
void psa_forward(const rm_act_cfg *cfg, int C, const float *p, const float *work, const float *x, float *y, int N) {
    if (cfg->kind == RM_ACT_LERP_PSA) {
        rm_lerp_forward(work, cfg->G, lerp_s(cfg), lerp_o(cfg), x, y, N, C);
        return;
    }
    /* smooth ResPSA on every element, blocks of PB rows of one channel */
#pragma omp parallel for schedule(static)
    for (int r0 = 0; r0 < N; r0 += PB) {
        float a[64][PB], sv[PB], xs[PB], ys[PB];
        int n = N - r0 < PB ? N - r0 : PB;
        for (int c = 0; c < C; c++) {
            psa_ch h = psa_channel(cfg, C, p, c);
            for (int j = 0; j < n; j++) xs[j] = x[(size_t)(r0 + j) * C + c];
            psa_block(&h, xs, n, a, sv, ys);
            for (int j = 0; j < n; j++) y[(size_t)(r0 + j) * C + c] = ys[j];
        }
    }
}

/* p-layout gradient of one channel from a local (3E+2) block into dp (+=) */
static void psa_add_channel_grad(const rm_act_cfg *cfg, int C, float *dp, int c, const float *gl) {
    int E = cfg->E;
    size_t CE = (size_t)C * E;
    for (int k = 0; k < E; k++) {
        dp[(size_t)c * E + k] += gl[k];
        dp[CE + (size_t)c * E + k] += gl[E + k];
        dp[2 * CE + (size_t)c * E + k] += gl[2 * E + k];
    }
    dp[3 * CE + c] += gl[3 * E];
    dp[3 * CE + C + c] += gl[3 * E + 1];
}

// x, dy, dx are (N,C); dx overwritten, dp (psa_nparams) accumulated
void psa_backward(const rm_act_cfg *cfg, int C, const float *p, float *work, const float *x, const float *dy,
                  float *dx, float *dp, int N) {
    if (cfg->kind == RM_ACT_LERP_PSA) {
        const int G = cfg->G;
        float *T = work, *dT = work + (size_t)C * G, *slots = work + 2 * (size_t)C * G;
        memset(dT, 0, sizeof(float) * C * G);
        rm_lerp_backward(T, G, lerp_s(cfg), lerp_o(cfg), x, dy, dx, slots, dT, N, C);
        /* back through ResPSA at the grid points: G*C*E, independent of N */
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++) {
            psa_ch h = psa_channel(cfg, C, p, c);
            float gl[3 * 64 + 2] = {0}, xs[PB];
            for (int j0 = 0; j0 < G; j0 += PB) {
                int n = G - j0 < PB ? G - j0 : PB;
                for (int j = 0; j < n; j++) xs[j] = grid_x(cfg, j0 + j);
                psa_block_grad(&h, xs, dT + (size_t)c * G + j0, n, gl, NULL);
            }
            psa_add_channel_grad(cfg, C, dp, c, gl);
        }
        return;
    }
    /* smooth ResPSA on every element; parameter grads in fixed row slots, reduced in order */
    const size_t P = psa_nparams(cfg, C);
#pragma omp parallel for schedule(static)
    for (int sl = 0; sl < LERP_SLOTS; sl++) {
        float *acc = work + sl * P;
        memset(acc, 0, P * sizeof(float));
        int r0 = (int)((long long)N * sl / LERP_SLOTS), r1 = (int)((long long)N * (sl + 1) / LERP_SLOTS);
        for (int c = 0; c < C; c++) {
            psa_ch h = psa_channel(cfg, C, p, c);
            float gl[3 * 64 + 2] = {0}, xs[PB], gs[PB], dxs[PB];
            for (int rb = r0; rb < r1; rb += PB) {
                int n = r1 - rb < PB ? r1 - rb : PB;
                for (int j = 0; j < n; j++) { xs[j] = x[(size_t)(rb + j) * C + c]; gs[j] = dy[(size_t)(rb + j) * C + c]; }
                psa_block_grad(&h, xs, gs, n, gl, dxs);
                for (int j = 0; j < n; j++) dx[(size_t)(rb + j) * C + c] = dxs[j];
            }
            psa_add_channel_grad(cfg, C, acc, c, gl);
        }
    }
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < P; j++) {
        float sum = 0;
        for (int sl = 0; sl < LERP_SLOTS; sl++) sum += work[sl * P + j];
        dp[j] += sum;
    }
}

int psa_table(const rm_act_cfg *cfg, int C, const float *p, int ch, float *out) {
    if (cfg->G < 2 || ch < 0 || ch >= C) return 0;
    psa_build_channel(cfg, C, p, ch, out);
    return cfg->G;
}

void psa_curve(const rm_act_cfg *cfg, int C, const float *p, int ch, int which, const float *x, float *y, int n) {
    if (cfg->kind == RM_ACT_LERP_PSA && which == 0) {
        float *T = malloc(sizeof(float) * cfg->G);
        if (!T) { for (int i = 0; i < n; i++) y[i] = NAN; return; }
        psa_build_channel(cfg, C, p, ch, T);
        rm_lerp_forward(T, cfg->G, lerp_s(cfg), lerp_o(cfg), x, y, n, 1); /* x, y as (n,1) */
        free(T);
        return;
    }
    psa_ch h = psa_channel(cfg, C, p, ch);
    float a[64][PB], sv[PB];
    for (int i = 0; i < n; i += PB) psa_block(&h, x + i, n - i < PB ? n - i : PB, a, sv, y + i);
}
