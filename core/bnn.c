/* bnn.c - integer engine of low-bit layer-list nets (see bnn.h): weight codes and bit packing, threshold
 * folding of (scale +) bias + BN + sign, binary (XNOR-popcount), ternary / n-bit (bit-plane AND-popcount)
 * and integer-input linear / conv stages, maxpool as OR, the final layer's logits, and verification
 * against the float forward. Bit 1 means +1 (sign(x) = +1 for x >= 0, as the float forward). */
#include "bnn_impl.h"
#include "layers.h"
#include "data.h"
#include "prune.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

static int has_vpopcnt(void) {
#ifdef __x86_64__
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    return 0;
#endif
}

static int has_vnni(void) {
#ifdef __x86_64__
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}
int rm_bnet_vnni(void) { return has_vnni(); }

const char *rm_bnn_path_name(int p) {
    return p == RM_BNN_VPOPCNT ? "avx512-vpopcntdq" : p == RM_BNN_PORTABLE ? "portable" : p == RM_BNN_REFERENCE ? "reference" : "auto";
}

int rm_bnet_set_path(rm_bnet *e, int path) {
    const char *env = getenv("RESMLP_BNN_PATH");
    if (path == RM_BNN_AUTO && env && !strcmp(env, "portable")) path = RM_BNN_PORTABLE;
    if (path == RM_BNN_AUTO && env && !strcmp(env, "reference")) path = RM_BNN_REFERENCE;
    if (path == RM_BNN_AUTO || path == RM_BNN_VPOPCNT) path = has_vpopcnt() ? RM_BNN_VPOPCNT : RM_BNN_PORTABLE;
    e->path = path;
    return path;
}
int rm_bnet_path(const rm_bnet *e) { return e->path; }

/* ---- popcount dot products ------------------------------------------------------------------------ */

static inline int pop_xor(const uint64_t *a, const uint64_t *w, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += __builtin_popcountll(a[i] ^ w[i]);
    return s;
}
static inline int pop_and(const uint64_t *a, const uint64_t *w, int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += __builtin_popcountll(a[i] & w[i]);
    return s;
}
#ifdef __x86_64__
__attribute__((target("avx512f,avx512vpopcntdq"))) static int pop_xor512(const uint64_t *a, const uint64_t *w, int n) {
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(w + i))));
    if (i < n) {
        __mmask8 k = (__mmask8)((1u << (n - i)) - 1);
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_maskz_loadu_epi64(k, a + i), _mm512_maskz_loadu_epi64(k, w + i))));
    }
    return (int)_mm512_reduce_add_epi64(acc);
}
__attribute__((target("avx512f,avx512vpopcntdq"))) static int pop_and512(const uint64_t *a, const uint64_t *w, int n) {
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(w + i))));
    if (i < n) {
        __mmask8 k = (__mmask8)((1u << (n - i)) - 1);
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(k, a + i), _mm512_maskz_loadu_epi64(k, w + i))));
    }
    return (int)_mm512_reduce_add_epi64(acc);
}
#else
static int pop_xor512(const uint64_t *a, const uint64_t *w, int n) { return pop_xor(a, w, n); }
static int pop_and512(const uint64_t *a, const uint64_t *w, int n) { return pop_and(a, w, n); }
#endif

static inline int popx(int path, const uint64_t *a, const uint64_t *w, int n) {
    return path == RM_BNN_VPOPCNT && n >= 4 ? pop_xor512(a, w, n) : pop_xor(a, w, n);
}
static inline int popa(int path, const uint64_t *a, const uint64_t *w, int n) {
    return path == RM_BNN_VPOPCNT && n >= 4 ? pop_and512(a, w, n) : pop_and(a, w, n);
}

/* the output word(s) of a position from its accumulators, branch free: on = lo <= acc <= hi (see fold) */
static inline void fire_rows_port(const bstage *s, const int64_t *acc, uint64_t *y) {
    for (int w = 0; w * 64 < s->rows; w++) {
        uint64_t v = 0;
        int n = s->rows - 64 * w < 64 ? s->rows - 64 * w : 64;
        const int64_t *a = acc + 64 * w, *lo = s->tlo + 64 * w, *hi = s->thi + 64 * w;
        for (int o = 0; o < n; o++) v |= (uint64_t)((a[o] >= lo[o]) & (a[o] <= hi[o])) << o;
        y[w] = v;
    }
}
#ifdef __x86_64__
/* the same with AVX-512 compares: 8 rows per mask (acc, tlo, thi are padded to R8) */
__attribute__((target("avx512f"))) static void fire_rows_512(const bstage *s, const int64_t *acc, uint64_t *y) {
    memset(y, 0, sizeof(uint64_t) * ((s->rows + 63) / 64));
    for (int o = 0; o < s->rows; o += 8) {
        __m512i a = _mm512_loadu_si512(acc + o);
        __mmask8 m = _mm512_cmpge_epi64_mask(a, _mm512_loadu_si512(s->tlo + o)) & _mm512_cmple_epi64_mask(a, _mm512_loadu_si512(s->thi + o));
        if (o + 8 > s->rows) m &= (__mmask8)((1u << (s->rows - o)) - 1);
        y[o >> 6] |= (uint64_t)m << (o & 63);
    }
}
#else
static void fire_rows_512(const bstage *s, const int64_t *acc, uint64_t *y) { fire_rows_port(s, acc, y); }
#endif
static void code_rows(const bstage *s, const int64_t *acc, int32_t *y);
static inline void fire_rows(const bstage *s, int path, const int64_t *acc, void *yv) {
    uint64_t *y = yv;
    if (s->out_codes) code_rows(s, acc, yv);
    else if (path == RM_BNN_VPOPCNT) fire_rows_512(s, acc, y);
    else fire_rows_port(s, acc, y);
}

static inline int fire(const bstage *s, int o, int64_t acc) {
    switch (s->dir[o]) {
    case 1: return acc >= s->thr[o];
    case -1: return acc <= s->thr[o];
    case 2: return 1;
    default: return 0;
    }
}

/* the activation of row o into a position's output y: a bit (sign) or a code (quant) */
static inline int32_t mcode(const bstage *s, int o, int64_t acc);
static inline void put_act(const bstage *s, void *y, int o, int64_t acc) {
    if (s->out_codes) ((int32_t *)y)[o] = mcode(s, o, acc);
    else if (fire(s, o, acc)) ((uint64_t *)y)[o >> 6] |= 1ull << (o & 63);
}
/* the output of sample b at position pos (conv: oy*ow+ox; linear: 0) */
static inline void *pos_out(const bstage *s, uint64_t *out, int b, size_t pos) {
    uint64_t *y = out + (size_t)b * s->out_words;
    return s->out_codes ? (void *)((int32_t *)y + pos * s->oc) : (void *)(y + pos * s->owpp);
}
/* codes of all rows at once from the transposed thresholds: qlo + #(dir * acc >= dir * thr), in int32 (the
 * build keeps |acc| below 2^31), R8 lanes per threshold so the compare loop vectorises */
static void code_rows(const bstage *s, const int64_t *restrict acc, int32_t *restrict y) {
    const int R8 = s->R8, nt = s->nthr;
    const int32_t *restrict sg = s->sgn, *restrict T = s->thrT;
    int32_t a[R8], c[R8];
    for (int o = 0; o < R8; o++) { a[o] = sg[o] * (int32_t)acc[o]; c[o] = s->qlo; }
    for (int t = 0; t < nt; t++, T += R8)
        for (int o = 0; o < R8; o++) c[o] += a[o] >= T[o];
    memcpy(y, c, sizeof(int32_t) * s->rows);
}

/* ---- building ----------------------------------------------------------------------------------- */

typedef struct bnref { float *g, *b, *rm, *rv; } bnref;
static bnref bn_of(rm_model *m, int layer) {
    bnref r = {0};
    if (layer < 0) return r;
    char nm[64];
    snprintf(nm, sizeof nm, "layers.%d.weight", layer); r.g = rm_model_tensor_data(m, nm, NULL);
    snprintf(nm, sizeof nm, "layers.%d.bias", layer); r.b = rm_model_tensor_data(m, nm, NULL);
    snprintf(nm, sizeof nm, "layers.%d.running_mean", layer); r.rm = rm_model_tensor_data(m, nm, NULL);
    snprintf(nm, sizeof nm, "layers.%d.running_var", layer); r.rv = rm_model_tensor_data(m, nm, NULL);
    return r;
}

/* the float forward's value of accumulator acc in row o after scale, bias and BN (the model's own kernels);
 * acc, x, y are (N, rows): N accumulator vectors at once (eval-mode BN is per element); scr (2*rows) */
static void stage_values_n(const bstage *s, rm_model *m, const int64_t *acc, float *x, float *y, float *scr, int N) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < s->rows; o++)
            x[(size_t)n * s->rows + o] = rm_net_post((float)acc[(size_t)n * s->rows + o] * s->unit, s->alpha, s->bias, o);
    if (s->bn_layer >= 0) {
        bnref r = bn_of(m, s->bn_layer);
        bn_forward(y, scr, scr + s->rows, x, r.g, r.b, r.rm, r.rv, N, s->rows, 0, 0.1f, 1e-5f, 0, m->scratch);
    } else memcpy(y, x, sizeof(float) * s->rows * N);
}
static void stage_values(const bstage *s, rm_model *m, const int64_t *acc, float *x, float *y, float *scr) {
    stage_values_n(s, m, acc, x, y, scr, 1);
}

/* thresholds: sign(BN(post(acc))) is monotone in the integer accumulator (every float step is), so a
 * bisection per row over [-bound, bound] with the model's own kernels finds where it switches; the two
 * neighbours of each threshold are checked again. */
static int fold_thresholds(rm_ctx *ctx, rm_model *m, bstage *s) {
    int rows = s->rows;
    int64_t *lo = rm_malloc(ctx, sizeof(int64_t) * rows * 3, "threshold search"), *hi = lo ? lo + rows : NULL, *mid = lo ? lo + 2 * rows : NULL;
    float *x = rm_malloc(ctx, sizeof(float) * rows * 4, "threshold search"), *y = x ? x + rows : NULL, *scr = x ? x + 2 * rows : NULL;
    s->thr = rm_malloc(ctx, sizeof(int32_t) * rows, "thresholds");
    s->dir = rm_malloc(ctx, sizeof(int8_t) * rows, "thresholds");
    int st = RM_ERR;
    if (!lo || !x || !s->thr || !s->dir) goto done;
    int64_t B = s->bound;
    for (int o = 0; o < rows; o++) mid[o] = -B;
    stage_values(s, m, mid, x, y, scr);
    for (int o = 0; o < rows; o++) lo[o] = y[o] >= 0;               /* on at -bound */
    for (int o = 0; o < rows; o++) mid[o] = B;
    stage_values(s, m, mid, x, y, scr);
    for (int o = 0; o < rows; o++) {
        int on_hi = y[o] >= 0, on_lo = (int)lo[o];
        if (on_hi == on_lo) s->dir[o] = on_hi ? 2 : -2;
        else s->dir[o] = on_hi ? 1 : -1;
        lo[o] = -B; hi[o] = B;                                       /* dir 1: off at lo, on at hi; -1: on at lo, off at hi */
    }
    for (int it = 0; it < 70; it++) {
        int active = 0;
        for (int o = 0; o < rows; o++) {
            if ((s->dir[o] == 1 || s->dir[o] == -1) && hi[o] - lo[o] > 1) { mid[o] = lo[o] + (hi[o] - lo[o]) / 2; active = 1; }
            else mid[o] = lo[o];
        }
        if (!active) break;
        stage_values(s, m, mid, x, y, scr);
        for (int o = 0; o < rows; o++) {
            if (!(s->dir[o] == 1 || s->dir[o] == -1) || hi[o] - lo[o] <= 1) continue;
            int on = y[o] >= 0;
            if (on == (s->dir[o] == 1)) hi[o] = mid[o]; else lo[o] = mid[o];
        }
    }
    for (int o = 0; o < rows; o++) s->thr[o] = (int32_t)(s->dir[o] == 1 ? hi[o] : s->dir[o] == -1 ? lo[o] : 0);
    /* the branch-free form of the fast paths, +1 when lo <= acc <= hi: dir 1 [thr, max], -1 [min, thr],
     * 2 everything, -2 nothing; padded to a multiple of 8 rows */
    int R8p = (rows + 7) / 8 * 8;
    s->tlo = rm_calloc(ctx, sizeof(int64_t) * R8p * 2, "thresholds");
    if (!s->tlo) goto done;
    s->thi = s->tlo + R8p;
    for (int o = 0; o < rows; o++) {
        int d = s->dir[o];
        s->tlo[o] = d == 1 ? s->thr[o] : d == -2 ? INT64_MAX : INT64_MIN;
        s->thi[o] = d == -1 ? s->thr[o] : d == -2 ? INT64_MIN : INT64_MAX;
    }
    /* check: for dir 1, on at thr and off at thr-1; for dir -1, on at thr and off at thr+1 */
    for (int pass = 0; pass < 2; pass++) {
        for (int o = 0; o < rows; o++) mid[o] = s->thr[o] + (pass ? (s->dir[o] == 1 ? -1 : 1) : 0);
        stage_values(s, m, mid, x, y, scr);
        for (int o = 0; o < rows; o++)
            if ((s->dir[o] == 1 || s->dir[o] == -1) && (y[o] >= 0) != !pass) {
                rm_err(ctx, "layer %d channel %d: scale + bias + BN + sign is not monotone in the accumulator", s->layer, o);
                goto done;
            }
    }
    st = RM_OK;
done:
    free(lo); free(x);
    return st;
}

/* the code of an n-bit activation quant(bits) at float value y: the expression of net.c's quant layer */
static inline int32_t quant_code(const bstage *s, float y) {
    float sc = ldexpf(1, s->act_fbits), lo = (float)s->qlo, hi = (float)(s->qlo + s->nthr);
    return (int32_t)fminf(fmaxf(nearbyintf(y * sc), lo), hi);
}
static inline int32_t mcode(const bstage *s, int o, int64_t acc) {
    const int32_t *T = s->thr + (size_t)o * s->nthr;
    int32_t c = s->qlo;
    if (s->dir[o] > 0) for (int t = 0; t < s->nthr; t++) c += acc >= T[t];
    else for (int t = 0; t < s->nthr; t++) c += acc <= T[t];
    return c;
}

/* multi-thresholds of scale + bias + BN + quant(bits) (FINN's MultiThreshold): the code is monotone in the
 * accumulator (every float step is), increasing or decreasing per row (the sign of BN's gamma); for each level
 * t = 1 .. 2^bits-1 a bisection over [-bound, bound] with the model's own kernels finds where the code
 * reaches qlo + t (all rows at once). Then a check at every threshold and its neighbour. */
static int fold_mthresholds(rm_ctx *ctx, rm_model *m, bstage *s) {
    int rows = s->rows, nt = s->nthr;
    size_t n = (size_t)rows * nt;   /* (level, row) pairs, searched side by side: one kernel call per step */
    int64_t *lo = rm_malloc(ctx, sizeof(int64_t) * n * 3, "threshold search"), *hi = lo ? lo + n : NULL, *mid = lo ? lo + 2 * n : NULL;
    float *x = rm_malloc(ctx, sizeof(float) * (n * 2 + 2 * (size_t)rows), "threshold search"), *y = x ? x + n : NULL, *scr = x ? x + 2 * n : NULL;
    int32_t *clo = rm_malloc(ctx, sizeof(int32_t) * rows * 2, "threshold search"), *chi = clo ? clo + rows : NULL;
    s->thr = rm_malloc(ctx, sizeof(int32_t) * n, "thresholds");
    s->dir = rm_malloc(ctx, sizeof(int8_t) * rows, "thresholds");
    int st = RM_ERR;
    if (!lo || !x || !clo || !s->thr || !s->dir) goto done;
    int64_t B = s->bound;
    for (int o = 0; o < rows; o++) { mid[o] = -B; mid[rows + o] = B; }
    stage_values_n(s, m, mid, x, y, scr, 2);
    for (int o = 0; o < rows; o++) {
        clo[o] = quant_code(s, y[o]); chi[o] = quant_code(s, y[rows + o]);
        s->dir[o] = chi[o] >= clo[o] ? 1 : -1;
    }
    /* level t (index t-1 of mid/lo/hi rows), target code qlo + t; dir 1: the first acc whose code reaches the
     * target, in (lo, hi]; dir -1: the last, in [lo, hi) */
    for (size_t j = 0; j < n; j++) { lo[j] = -B; hi[j] = B; }
    for (int it = 0; it < 70; it++) {
        int active = 0;
        for (size_t j = 0; j < n; j++) {
            if (hi[j] - lo[j] > 1) { mid[j] = lo[j] + (hi[j] - lo[j]) / 2; active = 1; }
            else mid[j] = lo[j];
        }
        if (!active) break;
        stage_values_n(s, m, mid, x, y, scr, nt);
        for (size_t j = 0; j < n; j++) {
            if (hi[j] - lo[j] <= 1) continue;
            int o = (int)(j % rows), t = (int)(j / rows) + 1;
            int reach = quant_code(s, y[j]) >= s->qlo + t;
            if (s->dir[o] > 0) { if (reach) hi[j] = mid[j]; else lo[j] = mid[j]; }
            else { if (reach) lo[j] = mid[j]; else hi[j] = mid[j]; }
        }
    }
    for (size_t j = 0; j < n; j++) {
        int o = (int)(j % rows), t = (int)(j / rows) + 1;
        int32_t target = s->qlo + t, *T = s->thr + (size_t)o * nt + (t - 1);
        if (s->dir[o] > 0) *T = (int32_t)(clo[o] >= target ? -B : chi[o] < target ? B + 1 : hi[j]);
        else *T = (int32_t)(chi[o] >= target ? B : clo[o] < target ? -B - 1 : lo[j]);
    }
    /* check: the float code at each threshold and the accumulator next to it (inside [-bound, bound]) */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t j = 0; j < n; j++) {
            int o = (int)(j % rows), t = (int)(j / rows);
            int64_t a = s->thr[(size_t)o * nt + t] + (pass ? -s->dir[o] : 0);
            mid[j] = a < -B ? -B : a > B ? B : a;
        }
        stage_values_n(s, m, mid, x, y, scr, nt);
        for (size_t j = 0; j < n; j++) {
            int o = (int)(j % rows);
            if (quant_code(s, y[j]) != mcode(s, o, mid[j])) {
                rm_err(ctx, "layer %d channel %d: scale + bias + BN + quant(%d) is not monotone in the accumulator", s->layer, o, s->act_bits);
                goto done;
            }
        }
    }
    /* the fast paths' form: dir * acc >= dir * thr, thresholds transposed (nthr, R8), rows padded (never passed) */
    int R8p = (rows + 7) / 8 * 8;
    s->thrT = rm_malloc(ctx, sizeof(int32_t) * (size_t)R8p * nt, "thresholds");
    s->sgn = rm_calloc(ctx, sizeof(int32_t) * R8p, "thresholds");
    if (!s->thrT || !s->sgn) goto done;
    for (int o = 0; o < R8p; o++) {
        s->sgn[o] = o < rows ? s->dir[o] : 1;
        for (int t = 0; t < nt; t++) s->thrT[(size_t)t * R8p + o] = o < rows ? s->dir[o] * s->thr[(size_t)o * nt + t] : INT32_MAX;
    }
    st = RM_OK;
done:
    free(lo); free(x); free(clo);
    return st;
}

/* the integer codes of layer i's weights (rows x cols, the model's order), the float step of one code
 * unit and the ternary scales; the model's forward uses exactly code * unit (* alpha) */
static int weight_codes(rm_ctx *ctx, rm_model *m, int i, const rm_nlayer_spec *l, int32_t *k, float *unit, int *bits) {
    int rows, cols;
    const float *wq = rm_net_weights_used(m, i, &rows, &cols);
    size_t n = (size_t)rows * cols;
    if (l->wq == RM_WQ_BINARY) {
        for (size_t j = 0; j < n; j++) k[j] = wq[j] >= 0 ? 1 : -1;
        *unit = 1; *bits = 1;
    } else if (l->wq == RM_WQ_TERNARY) {
        for (size_t j = 0; j < n; j++) k[j] = wq[j] > 0 ? 1 : wq[j] < 0 ? -1 : 0;
        *unit = 1; *bits = 2;
    } else if (l->wq == RM_WQ_INT) {
        char nm[64];
        snprintf(nm, sizeof nm, "layers.%d.weight", i);
        const float *w = rm_model_tensor_data(m, nm, NULL);
        float *q = rm_malloc(ctx, sizeof(float) * n, "weight codes");
        if (!q) return RM_ERR;
        int f = rm_quant_fixed(q, w, n, l->wbits, NULL);
        for (size_t j = 0; j < n; j++) {
            float c = ldexpf(q[j], f);
            if (q[j] != wq[j] || c != floorf(c) || !(fabsf(c) <= ldexpf(1, l->wbits - 1)))
                { free(q); return rm_err(ctx, "layer %d: weights are not the %d-bit fixed-point codes the forward uses", i, l->wbits); }
            k[j] = (int32_t)c;
        }
        free(q);
        *unit = ldexpf(1, -f); *bits = l->wbits;
    } else return rm_err(ctx, "layer %d (%s): float weights have no integer form (w=binary|ternary|intN)", i, rm_nlayer_name(l->type));
    return RM_OK;
}

/* the fast kernels' copies: all output rows side by side per weight word (or code), rows padded to 8 */
static int transpose_stage(rm_ctx *ctx, bstage *s) {
    int R8 = (s->rows + 7) / 8 * 8, rows = s->rows;
    s->R8 = R8;
    if (s->wk == W_INT) {
        if (!(s->kT = rm_calloc(ctx, sizeof(int32_t) * (size_t)s->fan * R8, "transposed codes"))) return RM_ERR;
        for (int o = 0; o < rows; o++)
            for (int j = 0; j < s->fan; j++) s->kT[(size_t)j * R8 + o] = s->kc[(size_t)o * s->fan + j];
        /* VNNI copy when every code fits int16 (inputs: at most 16-bit codes): pairs of inputs per row */
        int fits = 1;
        for (size_t j = 0; j < (size_t)rows * s->fan; j++) if (s->kc[j] < INT16_MIN || s->kc[j] > INT16_MAX) fits = 0;
        if (!fits) return RM_OK;
        s->R16 = (rows + 15) / 16 * 16;
        s->fan2 = (s->fan + 1) / 2;
        if (!(s->kT16 = rm_calloc(ctx, sizeof(int16_t) * (size_t)s->fan2 * s->R16 * 2, "transposed codes"))) return RM_ERR;
        if (!(s->kc16 = rm_malloc(ctx, sizeof(int16_t) * (size_t)rows * s->fan, "int16 codes"))) return RM_ERR;
        for (size_t j = 0; j < (size_t)rows * s->fan; j++) s->kc16[j] = (int16_t)s->kc[j];
        for (int o = 0; o < rows; o++)
            for (int j = 0; j < s->fan; j++) s->kT16[((size_t)(j >> 1) * s->R16 + o) * 2 + (j & 1)] = (int16_t)s->kc[(size_t)o * s->fan + j];
        /* 8-bit weights and at most 8-bit input codes: quads of unsigned (code + 128) inputs times int8 weights */
        int fits8 = s->in_cbits <= 8 && s->fan < 65536;
        for (size_t j = 0; j < (size_t)rows * s->fan && fits8; j++) if (s->kc[j] < INT8_MIN || s->kc[j] > INT8_MAX) fits8 = 0;
        if (!fits8) return RM_OK;
        s->fan4 = (s->fan + 3) / 4;
        s->kT8 = rm_calloc(ctx, (size_t)s->fan4 * s->R16 * 4, "transposed codes");
        s->wsum = rm_calloc(ctx, sizeof(int32_t) * s->R16, "transposed codes");
        if (!s->kT8 || !s->wsum) return RM_ERR;
        for (int o = 0; o < rows; o++)
            for (int j = 0; j < s->fan; j++) {
                int32_t k = s->kc[(size_t)o * s->fan + j];
                s->kT8[((size_t)(j >> 2) * s->R16 + o) * 4 + (j & 3)] = (int8_t)k;
                s->wsum[o] += k;
            }
        return RM_OK;
    }
    /* conv: the patch packed densely, bit p*ic + c for kernel pixel p and channel c (no per-pixel word
     * padding), so a 3x3 patch of 16 channels takes 3 words, not 9; linear: the input bits as they are */
    int kk = s->type == S_CONV ? s->k * s->k : 1;
    s->nd = s->type == S_CONV ? (kk * s->ic + 63) / 64 : s->kw;
    if (!(s->wT = rm_calloc(ctx, sizeof(uint64_t) * (size_t)s->np * s->nd * R8, "transposed weights"))) return RM_ERR;
    for (int o = 0; o < rows; o++)
        for (int j = 0; j < s->fan; j++) {
            int32_t code = s->kc[(size_t)o * s->fan + j];   /* j = p*ic + c (conv) or the input bit (linear) */
            for (int q = 0; q < s->np; q++) {
                int on = s->wk == W_BIN ? code > 0 : s->np == 2 && s->coef[1] == -1 && s->wbits == 2 ? (q == 0 ? code > 0 : code < 0)
                                                                                               : (int)(((uint32_t)code >> q) & 1);
                if (on) s->wT[((size_t)q * s->nd + (j >> 6)) * R8 + o] |= 1ull << (j & 63);
            }
        }
    if (s->wk == W_BIN && s->type == S_CONV && s->ic < 64 && s->k * s->ic <= 64) {   /* kernel rows in words */
        const int run = s->k * s->ic;
        if (!(s->wR = rm_calloc(ctx, sizeof(uint64_t) * (size_t)s->k * R8, "transposed weights"))) return RM_ERR;
        for (int o = 0; o < rows; o++)
            for (int j = 0; j < s->fan; j++)
                if (s->kc[(size_t)o * s->fan + j] > 0) s->wR[(size_t)(j / run) * R8 + o] |= 1ull << (j % run);
    }
    if (s->kmask && s->wk == W_PLANES) {   /* the compact order of a pruned layer (prune_lists) */
        int ub = s->type == S_CONV ? s->ic : 64;
        if (!(s->wTk = rm_calloc(ctx, sizeof(uint64_t) * (size_t)s->np * s->ndk * R8, "compact weights"))) return RM_ERR;
        for (int q = 0; q < s->np; q++)
            for (int j = 0; j < s->fan; j++) {
                int u = j / ub, b = j % ub;
                if (!((s->kmask[u] >> b) & 1)) continue;
                int ci = s->koff[u] + __builtin_popcountll(s->kmask[u] & ((1ull << b) - 1));
                for (int o = 0; o < rows; o++)
                    if ((s->wT[((size_t)q * s->nd + (j >> 6)) * R8 + o] >> (j & 63)) & 1)
                        s->wTk[((size_t)q * s->ndk + (ci >> 6)) * R8 + o] |= 1ull << (ci & 63);
            }
    }
    if (s->wk == W_PLANES) {
        if (!(s->pcmT = rm_calloc(ctx, sizeof(int32_t) * (size_t)s->np * kk * R8, "transposed plane counts"))) return RM_ERR;
        for (int q = 0; q < s->np; q++)
            for (int o = 0; o < rows; o++)
                for (int p = 0; p < kk; p++) s->pcmT[((size_t)q * kk + p) * R8 + o] = s->pcm[((size_t)q * rows + o) * kk + p];
    }
    return RM_OK;
}

/* the kept-input lists of a SIMD-block pruned ternary / n-bit layer (the model's mask, prune.h, in the engine's
 * input order: conv (ky,kx,c), linear after a flatten HWC); the masked codes must be 0 */
static int prune_lists(rm_ctx *ctx, rm_model *m, bstage *s, int perm_h, int perm_w, int perm_c) {
    const rm_prune_layer *L = NULL;
    for (int i = 0; m->prune && i < m->prune->n; i++)
        if (m->prune->l[i].index == s->layer && m->prune->l[i].npruned) L = &m->prune->l[i];
    if (!L || s->wbits == 1) return RM_OK;   /* binary: a pruned latent weight is still +-1 */
    int fan = s->fan, kk = s->type == S_CONV ? s->k * s->k : 1, cin = fan / kk;
    if (L->cols != fan) return rm_err(ctx, "layer %d: pruning mask of %d inputs, the layer has %d", s->layer, L->cols, fan);
    uint8_t *kept = rm_malloc(ctx, (size_t)fan, "pruning lists");
    if (!kept) return RM_ERR;
    for (int j = 0; j < fan; j++) {   /* engine input j -> model column */
        int col = j;
        if (s->type == S_CONV) col = (j % cin) * kk + j / cin;
        else if (perm_c > 0) col = (j % perm_c) * perm_h * perm_w + j / perm_c;
        kept[j] = !L->mask[col / L->simd];
        s->pruned_in += !kept[j];
        for (int o = 0; !kept[j] && o < s->rows; o++)
            if (s->kc[(size_t)o * fan + j]) {
                free(kept);
                return rm_err(ctx, "layer %d: weight code %d of a pruned block is not 0", s->layer, s->kc[(size_t)o * fan + j]);
            }
    }
    /* compact bit-plane packing: units of the dense patch order (j = u*ub + b) */
    int ub = s->type == S_CONV ? cin : 64, nu = (fan + ub - 1) / ub;
    if (ub <= 64) {
        s->kmask = rm_calloc(ctx, sizeof(uint64_t) * (size_t)nu, "pruning lists");
        s->koff = rm_malloc(ctx, sizeof(int32_t) * ((size_t)nu + 1), "pruning lists");
        if (!s->kmask || !s->koff) { free(kept); return RM_ERR; }
        s->nu = nu;
        int off = 0;
        for (int u = 0; u < nu; u++) {
            s->koff[u] = off;
            for (int b = 0; b < ub && u * ub + b < fan; b++)
                if (kept[u * ub + b]) { s->kmask[u] |= 1ull << b; off++; }
        }
        s->koff[nu] = off;
        s->ndk = (off + 63) / 64;
        if (s->ndk == 0) s->ndk = 1;
    }
    s->kco = rm_malloc(ctx, sizeof(int32_t) * ((size_t)kk + 1 + fan), "pruning lists");
    if (!s->kco) { free(kept); return RM_ERR; }
    s->kch = s->kco + kk + 1;
    int n = 0;
    for (int p = 0; p < kk; p++) {
        s->kco[p] = n;
        for (int c = 0; c < cin; c++) if (kept[p * cin + c]) s->kch[n++] = c;
    }
    s->kco[kk] = n;
    free(kept);
    return RM_OK;
}

/* codes into the engine's input order, bit planes, per-row bounds */
static int pack_stage(rm_ctx *ctx, rm_model *m, bstage *s, const rm_nlayer_spec *l, int perm_h, int perm_w, int perm_c, int maxin) {
    int rows, cols;
    rm_net_weights_used(m, s->layer, &rows, &cols);
    int32_t *src = rm_malloc(ctx, sizeof(int32_t) * (size_t)rows * cols, "weight codes");
    s->kc = rm_malloc(ctx, sizeof(int32_t) * (size_t)rows * cols, "weight codes");
    if (!src || !s->kc) { free(src); return RM_ERR; }
    float wunit = 1;
    if (weight_codes(ctx, m, s->layer, l, src, &wunit, &s->wbits)) { free(src); return RM_ERR; }
    s->fan = cols;
    s->unit *= wunit;
    for (int o = 0; o < rows; o++) {
        const int32_t *sr = src + (size_t)o * cols;
        int32_t *dr = s->kc + (size_t)o * cols;
        if (s->type == S_CONV) {
            /* PyTorch order (c, ky, kx) -> (ky, kx, c) */
            for (int c = 0; c < s->ic; c++)
                for (int p = 0; p < s->k * s->k; p++) dr[p * s->ic + c] = sr[c * s->k * s->k + p];
        } else {
            /* after a flatten of an NHWC map the inputs come in HWC order: weights are in CHW */
            for (int j = 0; j < cols; j++) {
                int src_j = j;
                if (perm_c > 0) { int p = j / perm_c, c = j % perm_c; src_j = c * perm_h * perm_w + p; }
                dr[j] = sr[src_j];
            }
        }
    }
    free(src);
    if (prune_lists(ctx, m, s, perm_h, perm_w, perm_c)) return RM_ERR;
    s->bound = 0;
    for (int o = 0; o < rows; o++) {
        int64_t b = 0;
        for (int j = 0; j < cols; j++) b += llabs((long long)s->kc[(size_t)o * cols + j]) * maxin;
        if (b > s->bound) s->bound = b;
    }
    if (s->bound == 0) s->bound = 1;
    if (s->wk == W_INT) return transpose_stage(ctx, s);
    int kk = s->type == S_CONV ? s->k * s->k : 1, wpp = s->type == S_CONV ? s->iwpp : s->fwords;
    if (s->wbits == 1) s->wk = W_BIN, s->np = 1;
    else if (s->wbits == 2 && l->wq == RM_WQ_TERNARY) { s->wk = W_PLANES; s->np = 2; s->coef[0] = 1; s->coef[1] = -1; }
    else {
        s->wk = W_PLANES; s->np = s->wbits;
        for (int p = 0; p < s->np; p++) s->coef[p] = p == s->np - 1 ? -(1 << p) : 1 << p;   /* two's complement */
    }
    s->w = rm_calloc(ctx, sizeof(uint64_t) * (size_t)s->np * rows * s->kw, "packed weights");
    if (s->wk == W_PLANES) s->pcm = rm_calloc(ctx, sizeof(int32_t) * (size_t)s->np * rows * kk, "plane counts");
    if (!s->w || (s->wk == W_PLANES && !s->pcm)) return RM_ERR;
    int cin = s->type == S_CONV ? s->ic : cols;
    for (int o = 0; o < rows; o++)
        for (int p = 0; p < kk; p++)
            for (int c = 0; c < cin; c++) {
                int32_t code = s->kc[(size_t)o * cols + (size_t)p * cin + c];
                size_t bit = (size_t)p * wpp * 64 + c;
                if (s->wk == W_BIN) {
                    if (code > 0) s->w[(size_t)o * s->kw + (bit >> 6)] |= 1ull << (bit & 63);
                    continue;
                }
                for (int q = 0; q < s->np; q++) {
                    int on = s->np == 2 && l->wq == RM_WQ_TERNARY ? (q == 0 ? code > 0 : code < 0) : (int)(((uint32_t)code >> q) & 1);
                    if (!on) continue;
                    s->w[((size_t)q * rows + o) * s->kw + (bit >> 6)] |= 1ull << (bit & 63);
                    s->pcm[((size_t)q * rows + o) * kk + p]++;
                }
            }
    return transpose_stage(ctx, s);
}

static int copy_floats(rm_ctx *ctx, float **dst, const float *src, int n) {
    *dst = NULL;
    if (!src) return RM_OK;
    if (!(*dst = rm_malloc(ctx, sizeof(float) * n, "engine scales"))) return RM_ERR;
    memcpy(*dst, src, sizeof(float) * n);
    return RM_OK;
}

static int fail(rm_bnet *e) { rm_bnet_free(e); return RM_ERR; }

/* a hidden activation the engine turns into thresholds: sign, or an n-bit quant(bits) after a weight layer
 * (a quant before any weight layer is the input quantiser) */
static int hidden_act(const rm_net_spec *sp, int j) {
    if (sp->l[j].type == RM_NL_SIGN) return 1;
    if (sp->l[j].type != RM_NL_QUANT) return 0;
    for (int k = 0; k < j; k++) if (sp->l[k].type == RM_NL_LINEAR || sp->l[k].type == RM_NL_CONV) return 1;
    return 0;
}
static int quant_fbits(const rm_nlayer_spec *q) { return q->bits - 1 - (int)ceilf(log2f(q->range)); }

int rm_bnet_build(rm_ctx *ctx, rm_model *m, rm_bnet **out) {
    *out = NULL;
    const rm_net_spec *sp = rm_net_spec_of(m);
    if (!sp) return rm_err(ctx, "the integer engine takes layer-list nets (this is a ResMLP)");
    /* integer codes and thresholds come from the parameters and BN statistics: every one must be finite */
    for (int pass = 0; pass < 2; pass++) {
        const rm_ptensor *ts = pass ? m->buftensors : m->tensors;
        const float *base = pass ? m->bmem : m->mem;
        for (int t = 0; t < (pass ? m->nbuftensors : m->ntensors); t++)
            for (size_t j = 0; j < ts[t].n; j++)
                if (!isfinite(base[ts[t].off + j]))
                    return rm_err(ctx, "%s[%zu] is %g: an integer engine needs finite parameters and statistics", ts[t].name, j,
                                  base[ts[t].off + j]);
    }
    rm_bnet *e = calloc(1, sizeof *e);
    if (!e) return rm_err(ctx, "out of memory");
    e->m = m;
    e->K = m->cfg.K;
    e->in_c = sp->in_c; e->in_h = sp->in_h; e->in_w = sp->in_w;
    /* one eval forward so the quantised weights and ternary scales are the eval ones */
    size_t in = rm_model_input_size(m);
    float *zero = rm_calloc(ctx, sizeof(float) * in, "engine probe");
    if (!zero) return fail(e);
    int r = rm_net_forward_upto(ctx, m, zero, 1, 0, sp->n);
    free(zero);
    if (r) return fail(e);
    int i = 0;
    while (i < sp->n && !hidden_act(sp, i)) i++;
    if (i >= sp->n) { free(e); return rm_err(ctx, "the integer engine needs sign or n-bit quant(bits) activations (this net has none)"); }
    /* an integer front: quant(bits) then a quantised linear/conv, [bn], [dropout], sign */
    if (sp->l[0].type == RM_NL_QUANT && sp->n > 1 && (sp->l[1].type == RM_NL_LINEAR || sp->l[1].type == RM_NL_CONV) &&
        sp->l[1].wq != RM_WQ_FLOAT) {
        int j = 2;
        if (j < sp->n && sp->l[j].type == RM_NL_BN) j++;
        while (j < sp->n && sp->l[j].type == RM_NL_DROPOUT) j++;
        if (j == i) e->int_front = 1;
    }
    int sp_in, H, W, C;
    int codes = 0, cbits = 0, cfbits = 0;   /* the current activations are int32 codes of cbits bits, value code * 2^-cfbits */
    if (e->int_front) {
        const rm_nlayer_spec *q = &sp->l[0];
        e->in_bits = q->bits;
        e->in_fbits = quant_fbits(q);
        e->in_sp = sp->in_h * sp->in_w > 1;
        e->front = 1;
        sp_in = e->in_sp; H = sp->in_h; W = sp->in_w; C = sp->in_c;
        codes = 1; cbits = e->in_bits; cfbits = e->in_fbits;
    } else {
        e->front = i + 1;
        rm_net_output(m, i, &e->fr_c, &e->fr_h, &e->fr_w, &e->fr_sp);
        sp_in = e->fr_sp; H = e->fr_h; W = e->fr_w; C = e->fr_c;
        if (sp->l[i].type == RM_NL_QUANT) { codes = 1; cbits = sp->l[i].bits; cfbits = quant_fbits(&sp->l[i]); }
        e->fr_codes = codes; e->fr_fbits = cfbits;
    }
    int perm_h = 0, perm_w = 0, perm_c = 0;   /* a flatten of an NHWC map happened */
    size_t words = codes ? (size_t)C * H * W / 2 + 1 : sp_in ? (size_t)H * W * ((C + 63) / 64) : (size_t)(C * H * W + 63) / 64;
    e->maxwords = words;
    int last_weight = -1;
    for (int j = 0; j < sp->n; j++) if (sp->l[j].type == RM_NL_LINEAR || sp->l[j].type == RM_NL_CONV) last_weight = j;
    if (last_weight < e->front) { rm_bnet_free(e); return rm_err(ctx, "no weight layer after the first activation"); }
    for (i = e->front; i < sp->n;) {
        const rm_nlayer_spec *l = &sp->l[i];
        const char *nm = rm_nlayer_name(l->type);
        bstage *s = &e->st[e->ns];
        memset(s, 0, sizeof *s);
        s->layer = i; s->sign_layer = s->bn_layer = -1;
        s->in_words = words;
        s->in_codes = codes;
        s->in_n = C * H * W;
        if (l->type == RM_NL_DROPOUT) { i++; continue; }
        if (l->type == RM_NL_FLATTEN) {
            if (sp_in) { perm_h = H; perm_w = W; perm_c = C; C = C * H * W; H = W = 1; sp_in = 0; }
            s->type = S_FLATTEN;
            s->ih = perm_h; s->iw = perm_w; s->ic = perm_c; s->oc = C;
            s->out_codes = codes; s->out_n = C;
            words = codes ? (size_t)C / 2 + 1 : (size_t)(C + 63) / 64;   /* codes: NHWC is already (h,w,c) order */
            s->out_words = words;
            if (words > e->maxwords) e->maxwords = words;
            e->ns++;
            i++;
            continue;
        }
        if (l->type == RM_NL_MAXPOOL) {
            if (!sp_in) { rm_bnet_free(e); return rm_err(ctx, "layer %d (maxpool) on a flat input", i); }
            s->type = S_POOL; s->k = l->k; s->s = l->stride;
            s->ih = H; s->iw = W; s->ic = C; s->iwpp = (C + 63) / 64;
            H = (H - l->k) / l->stride + 1; W = (W - l->k) / l->stride + 1;
            s->oh = H; s->ow = W; s->oc = C; s->owpp = s->iwpp;
            s->out_codes = codes; s->out_n = H * W * C;   /* codes: max of the window (the quantiser is monotone) */
            words = codes ? (size_t)s->out_n / 2 + 1 : (size_t)H * W * s->owpp;
            s->out_words = words;
            e->ns++;
            i++;
            continue;
        }
        if (l->type != RM_NL_LINEAR && l->type != RM_NL_CONV) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): the integer engine expects linear/conv, bn, sign or quant(bits), maxpool after the first activation", i, nm);
        }
        if (l->wq == RM_WQ_FLOAT) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): weights must be binary, ternary or intN after the first activation; only the front may be float", i, nm);
        }
        int rows, cols;
        rm_net_weights_used(m, i, &rows, &cols);
        s->rows = rows;
        e->ns++;   /* counted from here on, so rm_bnet_free releases what it holds */
        char bname[48];
        snprintf(bname, sizeof bname, "layers.%d.bias", i);
        if (copy_floats(ctx, &s->bias, l->bias ? rm_model_tensor_data(m, bname, NULL) : NULL, rows) ||
            copy_floats(ctx, &s->alpha, rm_net_weight_alpha(m, i), rows)) { rm_bnet_free(e); return RM_ERR; }
        int j = i + 1;
        if (j < sp->n && sp->l[j].type == RM_NL_BN) s->bn_layer = j++;
        while (j < sp->n && sp->l[j].type == RM_NL_DROPOUT) j++;
        s->final = i == last_weight;
        if (!s->final) {
            if (j >= sp->n || !hidden_act(sp, j)) {
                rm_bnet_free(e);
                return rm_err(ctx, "layer %d (%s): a hidden quantised layer must be followed by [bn] sign or [bn] quant(bits)", i, nm);
            }
            if (sp->l[j].type == RM_NL_QUANT) {
                const rm_nlayer_spec *q = &sp->l[j];
                if (q->bits > 8) {   /* 2^bits-1 thresholds per channel: FINN's form stops being sensible */
                    rm_bnet_free(e);
                    return rm_err(ctx, "layer %d (quant(%d)): n-bit activations become 2^bits-1 thresholds per channel; at most 8 bits", j, q->bits);
                }
                s->out_codes = 1; s->act_bits = q->bits; s->act_fbits = quant_fbits(q);
                s->qlo = -(1 << (q->bits - 1)); s->nthr = (1 << q->bits) - 1;
            } else s->nthr = 1;
            s->sign_layer = j++;
        } else if (j != sp->n) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): the last weight layer may only be followed by bn", i, nm);
        }
        int maxin = 1;
        s->unit = 1;
        if (codes) {   /* integer codes in: plain integer products */
            s->wk = W_INT;
            s->in_cbits = cbits;
            maxin = 1 << (cbits - 1);
            s->unit = ldexpf(1, -cfbits);
        }
        if (l->type == RM_NL_CONV) {
            if (!sp_in) { rm_bnet_free(e); return rm_err(ctx, "layer %d (conv) on a flat input", i); }
            s->type = S_CONV; s->k = l->k; s->s = l->stride; s->pad = l->pad;
            s->ih = H; s->iw = W; s->ic = C; s->iwpp = (C + 63) / 64;
            s->kw = l->k * l->k * s->iwpp;
            H = (H + 2 * l->pad - l->k) / l->stride + 1; W = (W + 2 * l->pad - l->k) / l->stride + 1; C = rows;
            s->oh = H; s->ow = W; s->oc = C; s->owpp = (C + 63) / 64;
            words = s->out_codes ? (size_t)H * W * C / 2 + 1 : (size_t)H * W * s->owpp;
            if (s->final) { rm_bnet_free(e); return rm_err(ctx, "layer %d (conv): the last weight layer must be linear", i); }
        } else {
            if (sp_in) { rm_bnet_free(e); return rm_err(ctx, "layer %d (linear) on an image (a flatten is missing)", i); }
            s->type = S_LINEAR;
            s->F = C; s->fwords = (C + 63) / 64; s->kw = s->fwords;
            s->ih = s->iw = 1; s->ic = C; s->oh = s->ow = 1; s->oc = rows;
            C = rows;
            words = s->out_codes ? (size_t)C / 2 + 1 : (size_t)(C + 63) / 64;
        }
        s->out_n = H * W * C;
        s->out_words = words;
        if (words > e->maxwords) e->maxwords = words;
        if (s->in_words > e->maxwords) e->maxwords = s->in_words;
        if (pack_stage(ctx, m, s, l, perm_h, perm_w, perm_c, maxin)) { rm_bnet_free(e); return RM_ERR; }
        perm_c = 0;
        if (s->bound >= (1 << 24)) e->inexact_rows++;
        if (s->bound >= INT32_MAX) { rm_bnet_free(e); return rm_err(ctx, "layer %d (%s): accumulators exceed 32 bits", i, nm); }
        if (!s->final && (s->out_codes ? fold_mthresholds(ctx, m, s) : fold_thresholds(ctx, m, s))) { rm_bnet_free(e); return RM_ERR; }
        if (!s->final) { codes = s->out_codes; cbits = s->act_bits; cfbits = s->act_fbits; }
        i = j;
    }
    rm_bnet_set_path(e, RM_BNN_AUTO);
    *out = e;
    return RM_OK;
}

void rm_bnet_free(rm_bnet *e) {
    if (!e) return;
    for (int i = 0; i < e->ns; i++) {
        bstage *s = &e->st[i];
        free(s->w); free(s->thr); free(s->dir); free(s->kc); free(s->pcm); free(s->alpha); free(s->bias);
        free(s->wT); free(s->wR); free(s->pcmT); free(s->kT); free(s->tlo); free(s->kmask); free(s->koff); free(s->wTk); free(s->kco);
        free(s->kT16); free(s->kc16); free(s->thrT); free(s->sgn); free(s->kT8); free(s->wsum);
    }
    free(e->buf0); free(e->buf1); free(e->bnm); free(e->bny); free(e->codes);
    free(e);
}

void rm_bnet_describe(const rm_bnet *e, char *buf, size_t n) {
    size_t bytes = 0;
    int nb = 0, nt = 0, nn = 0, nq = 0, qb = 0;
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        if (s->type != S_LINEAR && s->type != S_CONV) continue;
        if (s->out_codes) { nq++; qb = s->act_bits; }
        if (s->wk == W_BIN) nb++;
        else if (s->wk == W_PLANES) nt++;
        else nn++;
        bytes += s->w ? (size_t)s->np * s->rows * s->kw * 8 : (size_t)s->rows * s->fan * ((s->wbits + 7) / 8);
    }
    size_t k = (size_t)snprintf(buf, n, "integer engine: ");
    if (e->int_front && k < n) k += (size_t)snprintf(buf + k, n - k, "%d-bit input, %d integer-input layer%s, ", e->in_bits, nn, nn == 1 ? "" : "s");
    else if (k < n) k += (size_t)snprintf(buf + k, n - k, "float front of %d layers, ", e->front);
    if (k < n) k += (size_t)snprintf(buf + k, n - k, "%d XNOR-popcount + %d bit-plane layers (%zu bytes of weights), ", nb, nt, bytes);
    if (nq && k < n) k += (size_t)snprintf(buf + k, n - k, "%d multi-threshold layer%s (%d-bit activations), ", nq, nq == 1 ? "" : "s", qb);
    if (k < n) k += (size_t)snprintf(buf + k, n - k, "path %s%s", rm_bnn_path_name(e->path),
                                     e->path == RM_BNN_VPOPCNT && nn && has_vnni() ? "+vnni" : "");
    if (e->inexact_rows && k < n)
        snprintf(buf + k, n - k, "; %d layer%s whose worst-case accumulator passes 2^24 (the float forward may round there)", e->inexact_rows,
                 e->inexact_rows == 1 ? "" : "s");
}

/* ---- forward ------------------------------------------------------------------------------------ */
/* Two forms of each weight stage: the reference (*_ref), one output row at a time with the row-major
 * weights, and the fast one (run_linear / run_conv below), which computes all rows of an output position
 * at once from the transposed weights: an input word is broadcast against 8 rows' words per step
 * (VPOPCNTDQ) or a scalar loop over the rows (portable). */

/* dot product of one output row o with input x (bits, or int32 codes for W_INT); linear */
static inline int64_t dot_linear(const bstage *s, int o, const uint64_t *x, int path) {
    if (s->wk == W_BIN) return s->F - 2 * popx(path, x, s->w + (size_t)o * s->kw, s->kw);
    if (s->wk == W_PLANES) {
        int64_t acc = 0;
        for (int q = 0; q < s->np; q++)
            acc += (int64_t)s->coef[q] * (2 * popa(path, x, s->w + ((size_t)q * s->rows + o) * s->kw, s->kw) - s->pcm[(size_t)q * s->rows + o]);
        return acc;
    }
    const int32_t *c = (const int32_t *)x, *k = s->kc + (size_t)o * s->fan;
    int64_t acc = 0;
    for (int j = 0; j < s->fan; j++) acc += (int64_t)c[j] * k[j];
    return acc;
}

static void run_linear_ref(const bstage *s, const uint64_t *in, uint64_t *out, int64_t *acc_out, int B, int path) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const uint64_t *x = in + (size_t)b * s->in_words;
        if (acc_out) {
            for (int o = 0; o < s->rows; o++) acc_out[(size_t)b * s->rows + o] = dot_linear(s, o, x, path);
        } else {
            uint64_t *y = out + (size_t)b * s->out_words;
            memset(y, 0, sizeof(uint64_t) * s->out_words);
            for (int o = 0; o < s->rows; o++) put_act(s, y, o, dot_linear(s, o, x, path));
        }
    }
}

static void run_conv_ref(const bstage *s, const uint64_t *in, uint64_t *out, int B, int path) {
    int wpp = s->iwpp, k = s->k;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < s->oh; oy++) {
            const uint64_t *x = in + (size_t)b * s->in_words;
            uint64_t patch[15 * 15 * 4];   /* k <= 15; wpp words per pixel; larger wpp goes pixel by pixel */
            for (int ox = 0; ox < s->ow; ox++) {
                void *y = pos_out(s, out, b, (size_t)oy * s->ow + ox);
                if (!s->out_codes) memset(y, 0, sizeof(uint64_t) * s->owpp);
                int valid = 0, full = 1;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                        if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) { full = 0; continue; }
                        valid++;
                    }
                if (s->wk == W_INT) {
                    const int32_t *xc = (const int32_t *)x;
                    for (int o = 0; o < s->rows; o++) {
                        const int32_t *kr = s->kc + (size_t)o * s->fan;
                        int64_t acc = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                                if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                                const int32_t *xp = xc + ((size_t)iy * s->iw + ix) * s->ic, *kp = kr + (size_t)(ky * k + kx) * s->ic;
                                for (int c = 0; c < s->ic; c++) acc += (int64_t)xp[c] * kp[c];
                            }
                        put_act(s, y, o, acc);
                    }
                } else if (full && wpp <= 4 && s->wk == W_BIN) {
                    /* interior: gather the patch once, one dot per filter */
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                            memcpy(patch + (size_t)(ky * k + kx) * wpp, x + ((size_t)iy * s->iw + ix) * wpp, sizeof(uint64_t) * wpp);
                        }
                    for (int o = 0; o < s->rows; o++) {
                        int acc = k * k * s->ic - 2 * popx(path, patch, s->w + (size_t)o * s->kw, s->kw);
                        put_act(s, y, o, acc);
                    }
                } else {
                    for (int o = 0; o < s->rows; o++) {
                        int64_t acc = 0;
                        int pc = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                                if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                                const uint64_t *xp = x + ((size_t)iy * s->iw + ix) * wpp;
                                int p = ky * k + kx;
                                if (s->wk == W_BIN) pc += popx(path, xp, s->w + (size_t)o * s->kw + (size_t)p * wpp, wpp);
                                else
                                    for (int q = 0; q < s->np; q++)
                                        acc += (int64_t)s->coef[q] * (2 * popa(path, xp, s->w + ((size_t)q * s->rows + o) * s->kw + (size_t)p * wpp, wpp) -
                                                                      s->pcm[((size_t)q * s->rows + o) * k * k + p]);
                            }
                        if (s->wk == W_BIN) acc = valid * s->ic - 2 * pc;
                        put_act(s, y, o, acc);
                    }
                }
            }
        }
}

// pc (R8) += popcount((xw[j] XOR (or AND) W[j][o]) AND mk[j]) for j < n, o < R8; W is (n,R8); mk NULL: all ones;
// jl != NULL: only the words j = jl[0..n) (the kept words of a pruned layer)
static void pop_rows_port(const uint64_t *xw, const uint64_t *mk, const uint64_t *W, int n, int R8, int and_op, int64_t *pc, const int32_t *jl) {
    for (int t = 0; t < n; t++) {
        const int j = jl ? jl[t] : t;
        const uint64_t x = xw[j], m = mk ? mk[j] : ~0ull, *r = W + (size_t)j * R8;
        if (and_op) for (int o = 0; o < R8; o++) pc[o] += __builtin_popcountll(x & r[o]);
        else for (int o = 0; o < R8; o++) pc[o] += __builtin_popcountll((x ^ r[o]) & m);
    }
}
#ifdef __x86_64__
__attribute__((target("avx512f,avx512vpopcntdq")))
static void pop_rows_512(const uint64_t *xw, const uint64_t *mk, const uint64_t *W, int n, int R8, int and_op, int64_t *pc, const int32_t *jl) {
    int o0 = 0;
    for (; o0 + 64 <= R8; o0 += 64) {   /* 64 rows in 8 registers: each word of x meets 512 contiguous bytes of W */
        __m512i acc[8];
        for (int g = 0; g < 8; g++) acc[g] = _mm512_loadu_si512(pc + o0 + 8 * g);
        for (int t = 0; t < n; t++) {
            const int j = jl ? jl[t] : t;
            const uint64_t *r = W + (size_t)j * R8 + o0;
            __m512i x = _mm512_set1_epi64((long long)xw[j]);
            __m512i m = _mm512_set1_epi64(mk && !and_op ? (long long)mk[j] : -1LL);
            for (int g = 0; g < 8; g++) {
                __m512i w = _mm512_loadu_si512(r + 8 * g);
                __m512i v = and_op ? _mm512_and_si512(x, w) : _mm512_and_si512(_mm512_xor_si512(x, w), m);
                acc[g] = _mm512_add_epi64(acc[g], _mm512_popcnt_epi64(v));
            }
        }
        for (int g = 0; g < 8; g++) _mm512_storeu_si512(pc + o0 + 8 * g, acc[g]);
    }
    for (; o0 < R8; o0 += 8) {
        __m512i acc = _mm512_loadu_si512(pc + o0);
        for (int t = 0; t < n; t++) {
            const int j = jl ? jl[t] : t;
            __m512i x = _mm512_set1_epi64((long long)xw[j]), w = _mm512_loadu_si512(W + (size_t)j * R8 + o0);
            __m512i v = and_op ? _mm512_and_si512(x, w) : _mm512_xor_si512(x, w);
            if (mk && !and_op) v = _mm512_and_si512(v, _mm512_set1_epi64((long long)mk[j]));
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
        }
        _mm512_storeu_si512(pc + o0, acc);
    }
}
#else
static void pop_rows_512(const uint64_t *xw, const uint64_t *mk, const uint64_t *W, int n, int R8, int and_op, int64_t *pc, const int32_t *jl) {
    pop_rows_port(xw, mk, W, n, R8, and_op, pc, jl);
}
#endif

/* OR nbits bits of src (words, the bits above nbits zero) into dst at bit position pos */
static inline void put_bits(uint64_t *dst, size_t pos, const uint64_t *src, int nbits) {
    if (nbits < 64) {   /* one word of at most 63 bits: the common case of a pixel's channels */
        uint64_t v = (src ? src[0] : ~0ull) & ((1ull << nbits) - 1);
        int sh = (int)(pos & 63);
        dst[pos >> 6] |= v << sh;
        if (sh && sh + nbits > 64) dst[(pos >> 6) + 1] |= v >> (64 - sh);
        return;
    }
    for (int j = 0; j * 64 < nbits; j++) {
        int nb = nbits - 64 * j < 64 ? nbits - 64 * j : 64;
        uint64_t v = src ? src[j] : ~0ull;
        if (nb < 64) v &= (1ull << nb) - 1;
        size_t bp = pos + 64 * (size_t)j;
        int sh = (int)(bp & 63);
        dst[bp >> 6] |= v << sh;
        if (sh && sh + nb > 64) dst[(bp >> 6) + 1] |= v >> (64 - sh);
    }
}

/* the bits of x under mask m, packed to the low end (BMI2 PEXT where the CPU has it) */
#ifdef __x86_64__
__attribute__((target("bmi2"))) static uint64_t pext_bmi2(uint64_t x, uint64_t m) { return _pext_u64(x, m); }
#endif
static uint64_t pext64(uint64_t x, uint64_t m) {
#ifdef __x86_64__
    static int has = -1;
    if (has < 0) has = __builtin_cpu_supports("bmi2");
    if (has) return pext_bmi2(x, m);
#endif
    uint64_t r = 0;
    for (int k = 0; m; m &= m - 1, k++) r |= ((x >> __builtin_ctzll(m)) & 1) << k;
    return r;
}

static int has_vnni_cached(void) {
    static int v = -1;
    if (v < 0) v = has_vnni();
    return v;
}
// a32 (R16) = sum over j < fan2 of the int16 pair x16[2j..2j+1] times each row's pair; W is (fan2,R16,2)
#ifdef __x86_64__
__attribute__((target("avx512f,avx512vnni")))
static void dot_rows_vnni(const int16_t *x16, const int16_t *W, int fan2, int R16, int32_t *a32) {
    for (int o0 = 0; o0 < R16; o0 += 16) {
        __m512i acc = _mm512_setzero_si512();
        for (int j = 0; j < fan2; j++) {
            int32_t pair;
            memcpy(&pair, x16 + 2 * (size_t)j, sizeof pair);
            acc = _mm512_dpwssd_epi32(acc, _mm512_set1_epi32(pair), _mm512_loadu_si512(W + ((size_t)j * R16 + o0) * 2));
        }
        _mm512_storeu_si512(a32 + o0, acc);
    }
}
// a32 (R16) = sum over j < fan4 of the 4 unsigned bytes x8[4j..4j+3] times each row's 4 int8 weights; W is (fan4,R16,4)
__attribute__((target("avx512f,avx512vnni")))
static void dot_rows_vnni8(const uint8_t *x8, const int8_t *W, int fan4, int R16, int32_t *a32) {
    for (int o0 = 0; o0 < R16; o0 += 16) {
        __m512i acc = _mm512_setzero_si512();
        for (int j = 0; j < fan4; j++) {
            int32_t quad;
            memcpy(&quad, x8 + 4 * (size_t)j, sizeof quad);
            acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(quad), _mm512_loadu_si512(W + ((size_t)j * R16 + o0) * 4));
        }
        _mm512_storeu_si512(a32 + o0, acc);
    }
}
#else
static void dot_rows_vnni8(const uint8_t *x8, const int8_t *W, int fan4, int R16, int32_t *a32) {
    for (int o = 0; o < R16; o++) {
        int32_t a = 0;
        for (int j = 0; j < 4 * fan4; j++) a += (int32_t)x8[j] * W[((size_t)(j >> 2) * R16 + o) * 4 + (j & 3)];
        a32[o] = a;
    }
}
static void dot_rows_vnni(const int16_t *x16, const int16_t *W, int fan2, int R16, int32_t *a32) {
    for (int o = 0; o < R16; o++) {
        int32_t a = 0;
        for (int j = 0; j < 2 * fan2; j++) a += (int32_t)x16[j] * W[((size_t)(j >> 1) * R16 + o) * 2 + (j & 1)];
        a32[o] = a;
    }
}
#endif

/* work area of one thread: the position's input words and valid-bit mask, popcounts, accumulators; W_INT
 * stages with a VNNI copy: the int16 patch and the int32 sums of R16 rows */
typedef struct pos_work { uint64_t *xw, *mk; int64_t *pc, *acc; int *kp, *pix; int16_t *x16; int32_t *a32; } pos_work;
static int work_alloc16(pos_work *w, const bstage *s) {
    w->x16 = NULL; w->a32 = NULL;
    if (!s->kT16) return 0;
    /* the int16 patch (fan2 pairs) or the byte patch (fan4 quads, no larger), then the sums */
    w->x16 = malloc(sizeof(int16_t) * (size_t)s->fan2 * 2 + 8 + sizeof(int32_t) * (size_t)s->R16 + 64);
    if (!w->x16) return -1;
    w->a32 = (int32_t *)(void *)(((uintptr_t)(w->x16 + (size_t)s->fan2 * 2 + 4) + 63) & ~(uintptr_t)63);
    return 0;
}
static int work_alloc(pos_work *w, int nwords, int R8, int kk) {
    w->x16 = NULL; w->a32 = NULL;
    w->xw = calloc((size_t)nwords * 2 + 2, sizeof(uint64_t));
    w->mk = w->xw ? w->xw + nwords + 1 : NULL;
    w->pc = malloc(sizeof(int64_t) * (size_t)R8 * 2);
    w->acc = w->pc ? w->pc + R8 : NULL;
    w->kp = malloc(sizeof(int) * (size_t)kk * 2);
    w->pix = w->kp ? w->kp + kk : NULL;
    return w->xw && w->pc && w->kp ? 0 : -1;
}
static void work_free(pos_work *w) { free(w->xw); free(w->pc); free(w->kp); free(w->x16); }

/* accumulators (w->acc, R8) of every row at one output position. Conv: nv valid kernel pixels, kernel pixel
 * kp[v] reading input pixel pix[v] of x (wpp words, or ic int32 codes, per pixel), the patch packed densely
 * (transpose_stage's order) with a mask of its valid bits when the window crosses the border. Linear: x is
 * the sample's input words (or codes). Binary: acc = valid bits - 2 * popcount of the differing ones. */
static void position_acc(const bstage *s, int path, const uint64_t *x, int nv, pos_work *w) {
    int R8 = s->R8, conv = s->type == S_CONV, kk = conv ? s->k * s->k : 1, cin = conv ? s->ic : s->fan;
    int64_t *acc = w->acc, *pc = w->pc;
    memset(acc, 0, sizeof(int64_t) * R8);
    if (s->wk == W_INT && path == RM_BNN_VPOPCNT && s->kT8 && w->x16 && has_vnni_cached()) {
        /* 8-bit codes: the patch as unsigned bytes code + 128 (padding and the tail: 128, code 0), 64 inputs
         * x 16 rows per VPDPBUSD step; sum (c + 128) k - 128 sum k = sum c k */
        const int32_t *xc = (const int32_t *)x;
        uint8_t *x8 = (uint8_t *)w->x16;
        if (conv) {
            memset(x8, 128, (size_t)s->fan4 * 4);
            for (int v = 0; v < nv; v++)
                for (int c = 0; c < cin; c++) x8[(size_t)w->kp[v] * cin + c] = (uint8_t)(xc[(size_t)w->pix[v] * cin + c] + 128);
        } else {
            for (int j = 0; j < s->fan; j++) x8[j] = (uint8_t)(xc[j] + 128);
            for (int j = s->fan; j < s->fan4 * 4; j++) x8[j] = 128;
        }
        dot_rows_vnni8(x8, s->kT8, s->fan4, s->R16, w->a32);
        for (int o = 0; o < R8; o++) acc[o] = w->a32[o] - 128 * s->wsum[o];
        return;
    }
    if (s->wk == W_INT && path == RM_BNN_VPOPCNT && s->kT16 && w->x16 && has_vnni_cached()) {
        /* the patch (or the input) as int16 codes, zeros at padding, then 16 rows per VPDPWSSD step */
        const int32_t *xc = (const int32_t *)x;
        if (conv) {
            memset(w->x16, 0, sizeof(int16_t) * s->fan2 * 2);
            for (int v = 0; v < nv; v++)
                for (int c = 0; c < cin; c++) w->x16[(size_t)w->kp[v] * cin + c] = (int16_t)xc[(size_t)w->pix[v] * cin + c];
        } else {
            for (int j = 0; j < s->fan; j++) w->x16[j] = (int16_t)xc[j];
            if (s->fan & 1) w->x16[s->fan] = 0;
        }
        dot_rows_vnni(w->x16, s->kT16, s->fan2, s->R16, w->a32);
        for (int o = 0; o < R8; o++) acc[o] = w->a32[o];
        return;
    }
    if (s->wk == W_INT) {   /* int32 sums: the build refused rows whose bound reaches 2^31 */
        const int32_t *xc = (const int32_t *)x;
        int32_t *a32 = (int32_t *)pc;
        memset(a32, 0, sizeof(int32_t) * R8);
        for (int v = 0; v < nv; v++) {
            const int p = w->kp[v], n = s->kco ? s->kco[p + 1] - s->kco[p] : cin;
            const int32_t *cl = s->kco ? s->kch + s->kco[p] : NULL;   /* pruned: the kept channels only */
            for (int t = 0; t < n; t++) {
                const int c = cl ? cl[t] : t;
                int32_t xv = xc[(size_t)w->pix[v] * cin + c];
                const int32_t *r = s->kT + ((size_t)p * cin + c) * R8;
                for (int o = 0; o < R8; o++) a32[o] += xv * r[o];
            }
        }
        for (int o = 0; o < R8; o++) acc[o] = a32[o];
        return;
    }
    const uint64_t *xw = x, *mk = NULL, *Wb = s->wT;
    int n = s->nd;
    long nbits = s->F;
    if (s->wTk) {   /* pruned bit planes: only the kept input bits, packed densely (wTk's order) */
        memset(w->xw, 0, sizeof(uint64_t) * s->ndk);
        for (int v = 0; v < (conv ? nv : s->nu); v++) {
            int u = conv ? w->kp[v] : v;
            uint64_t bits = pext64(conv ? x[(size_t)w->pix[v] * s->iwpp] : x[u], s->kmask[u]);
            put_bits(w->xw, (size_t)s->koff[u], &bits, s->koff[u + 1] - s->koff[u]);
        }
        xw = w->xw; n = s->ndk; Wb = s->wTk;
    } else if (conv) {
        memset(w->xw, 0, sizeof(uint64_t) * n);
        for (int v = 0; v < nv; v++) put_bits(w->xw, (size_t)w->kp[v] * s->ic, x + (size_t)w->pix[v] * s->iwpp, s->ic);
        xw = w->xw;
        if (nv < kk && s->wk == W_BIN) {
            memset(w->mk, 0, sizeof(uint64_t) * n);
            for (int v = 0; v < nv; v++) put_bits(w->mk, (size_t)w->kp[v] * s->ic, NULL, s->ic);
            mk = w->mk;
        }
        nbits = (long)nv * s->ic;
    }
    for (int q = 0; q < s->np; q++) {
        memset(pc, 0, sizeof(int64_t) * R8);
        const uint64_t *W = Wb + (size_t)q * n * R8;
        if (path == RM_BNN_VPOPCNT) pop_rows_512(xw, mk, W, n, R8, s->wk == W_PLANES, pc, NULL);
        else pop_rows_port(xw, mk, W, n, R8, s->wk == W_PLANES, pc, NULL);
        if (s->wk == W_BIN) {
            for (int o = 0; o < R8; o++) acc[o] = nbits - 2 * pc[o];
        } else {   /* sum of +-1 inputs over a plane's ones: 2 * (ones meeting a +1) - (ones at valid pixels) */
            for (int o = 0; o < R8; o++) pc[o] *= 2;
            for (int v = 0; v < nv; v++) {
                const int32_t *m = s->pcmT + ((size_t)q * kk + w->kp[v]) * R8;
                for (int o = 0; o < R8; o++) pc[o] -= m[o];
            }
            for (int o = 0; o < R8; o++) acc[o] += (int64_t)s->coef[q] * pc[o];
        }
    }
}

static void run_linear(const bstage *s, const uint64_t *in, uint64_t *out, int64_t *acc_out, int B, int path) {
    if (path == RM_BNN_REFERENCE) { run_linear_ref(s, in, out, acc_out, B, RM_BNN_PORTABLE); return; }
    int failed = 0;
#pragma omp parallel
    {
        pos_work w;
        int ok = !work_alloc(&w, s->wTk ? s->ndk : 1, s->R8, 1) && !work_alloc16(&w, s);
        if (ok) w.kp[0] = w.pix[0] = 0;
        else {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            if (!ok) continue;
            position_acc(s, path, in + (size_t)b * s->in_words, 1, &w);
            if (acc_out) {
                for (int o = 0; o < s->rows; o++) acc_out[(size_t)b * s->rows + o] = w.acc[o];
            } else {
                fire_rows(s, path, w.acc, pos_out(s, out, b, 0));
            }
        }
        work_free(&w);
    }
    if (failed) run_linear_ref(s, in, out, acc_out, B, RM_BNN_PORTABLE);   /* a worker was out of memory: the plain loops */
}

/* ---- fast conv stages: one sample per thread, patches built straight from the map ----------------- */
/* Binary stages (W_BIN): the dense patch (transpose_stage's order, bit p*ic + c) from each valid pixel's words,
 * then every row's popcount in registers and the thresholds applied at once; a mask of the valid bits at the
 * border. W_INT stages with an int16 copy (kT16): the sample's codes copied once into a zero-padded map (int16,
 * or code + 128 bytes for VPDPBUSD), so each patch is k runs of k*ic codes and padding contributes code 0. */

// the dense patch of output position (oy, ox) of x (wpp words per pixel) into xw (nd words) and, at the
// border, its valid-bit mask into mk; returns the number of valid bits (mk untouched when all are valid)
static inline long bin_patch(const bstage *s, const uint64_t *x, int oy, int ox, uint64_t *xw, uint64_t *mk, int *border) {
    const int k = s->k, ic = s->ic, wpp = s->iwpp, nd = s->nd;
    memset(xw, 0, sizeof(uint64_t) * nd);
    int iy0 = oy * s->s - s->pad, ix0 = ox * s->s - s->pad;
    int full = iy0 >= 0 && ix0 >= 0 && iy0 + k <= s->ih && ix0 + k <= s->iw;
    *border = !full;
    if (!full) memset(mk, 0, sizeof(uint64_t) * nd);
    long nv = 0;
    for (int ky = 0; ky < k; ky++) {
        int iy = iy0 + ky;
        if (iy < 0 || iy >= s->ih) continue;
        for (int kx = 0; kx < k; kx++) {
            int ix = ix0 + kx;
            if (ix < 0 || ix >= s->iw) continue;
            const uint64_t *px = x + ((size_t)iy * s->iw + ix) * wpp;
            size_t pos = (size_t)(ky * k + kx) * ic;
            nv++;
            if ((ic & 63) == 0) memcpy(xw + (pos >> 6), px, sizeof(uint64_t) * wpp);
            else if (ic < 64) {   /* the bits above ic are 0 in a stored map */
                int sh = (int)(pos & 63);
                xw[pos >> 6] |= px[0] << sh;
                if (sh && sh + ic > 64) xw[(pos >> 6) + 1] |= px[0] >> (64 - sh);
            } else put_bits(xw, pos, px, ic);
            if (!full) put_bits(mk, pos, NULL, ic);
        }
    }
    return nv * ic;
}

#ifdef __x86_64__
/* G groups of 8 rows from row o0: popcounts of (patch XOR weights) [AND mask] in registers, then the
 * branch-free thresholds (acc = nbits - 2 * pc in [tlo, thi]); returns the rows' bits (bit 8g + lane). The patch
 * is nseg runs of L words (seg[i]; the dense patch is one run, a full window of whole-word pixels k runs straight
 * from the map), mk (one run) the valid bits at the border; Wt the weights in the patch's order (wT, or wR). */
#define BIN_CHUNK(G_, MK_)                                                                                           \
    __attribute__((target("avx512f,avx512vpopcntdq"), always_inline)) static inline uint64_t bin_chunk_##G_##_##MK_( \
        const bstage *s, const uint64_t *Wt, const uint64_t *const *seg, const uint64_t *mk, int nseg, int L,        \
        long nbits, int o0) {                                                                                       \
        const int R8 = s->R8;                                                                                       \
        __m512i a[G_];                                                                                              \
        for (int g = 0; g < G_; g++) a[g] = _mm512_setzero_si512();                                                 \
        const uint64_t *W = Wt + o0;                                                                                \
        for (int i = 0; i < nseg; i++) {                                                                            \
            const uint64_t *xw = seg[i];                                                                            \
            for (int j = 0; j < L; j++, W += R8) {                                                                  \
                __m512i xb = _mm512_set1_epi64((long long)xw[j]);                                                   \
                __m512i mb = MK_ ? _mm512_set1_epi64((long long)mk[j]) : xb;                                        \
                for (int g = 0; g < G_; g++) {                                                                      \
                    __m512i v = _mm512_xor_si512(xb, _mm512_loadu_si512(W + 8 * g));                                \
                    if (MK_) v = _mm512_and_si512(v, mb);                                                           \
                    a[g] = _mm512_add_epi64(a[g], _mm512_popcnt_epi64(v));                                          \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        __m512i nb = _mm512_set1_epi64(nbits);                                                                      \
        uint64_t bits = 0;                                                                                          \
        for (int g = 0; g < G_; g++) {                                                                              \
            __m512i acc = _mm512_sub_epi64(nb, _mm512_slli_epi64(a[g], 1));                                         \
            __mmask8 m = _mm512_cmpge_epi64_mask(acc, _mm512_loadu_si512(s->tlo + o0 + 8 * g)) &                    \
                         _mm512_cmple_epi64_mask(acc, _mm512_loadu_si512(s->thi + o0 + 8 * g));                     \
            bits |= (uint64_t)m << (8 * g);                                                                         \
        }                                                                                                           \
        return bits;                                                                                                \
    }
BIN_CHUNK(1, 0) BIN_CHUNK(2, 0) BIN_CHUNK(4, 0) BIN_CHUNK(8, 0)
BIN_CHUNK(1, 1) BIN_CHUNK(2, 1) BIN_CHUNK(4, 1) BIN_CHUNK(8, 1)
#undef BIN_CHUNK
/* all rows of one position into y (owpp words): chunks of 64 rows (8 registers), smaller tails; the patch as
 * nseg runs of L words (see BIN_CHUNK) */
__attribute__((target("avx512f,avx512vpopcntdq"), always_inline))
static inline void bin_fire_512_in(const bstage *s, const uint64_t *Wt, const uint64_t *const *seg, int nseg, int L, const uint64_t *mk, long nbits, uint64_t *y) {
    for (int o0 = 0; o0 < s->R8;) {
        int left = (s->R8 - o0) / 8, G = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        uint64_t b;
        if (mk) b = G == 8 ? bin_chunk_8_1(s, Wt, seg, mk, nseg, L, nbits, o0) : G == 4 ? bin_chunk_4_1(s, Wt, seg, mk, nseg, L, nbits, o0)
                  : G == 2 ? bin_chunk_2_1(s, Wt, seg, mk, nseg, L, nbits, o0) : bin_chunk_1_1(s, Wt, seg, mk, nseg, L, nbits, o0);
        else b = G == 8 ? bin_chunk_8_0(s, Wt, seg, mk, nseg, L, nbits, o0) : G == 4 ? bin_chunk_4_0(s, Wt, seg, mk, nseg, L, nbits, o0)
                  : G == 2 ? bin_chunk_2_0(s, Wt, seg, mk, nseg, L, nbits, o0) : bin_chunk_1_0(s, Wt, seg, mk, nseg, L, nbits, o0);
        int sh = o0 & 63;
        if (!sh) y[o0 >> 6] = 0;
        y[o0 >> 6] |= b << sh;
        o0 += 8 * G;
    }
    int r = s->rows & 63;   /* the padded rows past the last one stay 0 */
    if (r) y[s->rows >> 6] &= (1ull << r) - 1;
}
__attribute__((target("avx512f,avx512vpopcntdq")))
static void bin_fire_512(const bstage *s, const uint64_t *Wt, const uint64_t *const *seg, int nseg, int L, const uint64_t *mk, long nbits, uint64_t *y) {
    bin_fire_512_in(s, Wt, seg, nseg, L, mk, nbits, y);
}
/* output positions [ox0, ox1) of row oy of sample map x into the sample's output out. Whole-word pixels (wT):
 * full windows only, as k runs of the map. Narrow pixels (wR): any window, as k kernel-row words, built by
 * sliding the window one input pixel at a time when the stride is 1; border windows with a mask of their bits */
__attribute__((target("avx512f,avx512vpopcntdq")))
static void bin_row_512(const bstage *s, const uint64_t *x, int oy, int ox0, int ox1, uint64_t *out) {
    const int k = s->k, ic = s->ic, st = s->s, iy0 = oy * st - s->pad;
    const long nbits = (long)k * k * ic;
    if (!s->wR) {
        const uint64_t *seg[16];
        for (int ox = ox0; ox < ox1; ox++) {
            int ix0 = ox * st - s->pad;
            for (int ky = 0; ky < k; ky++) seg[ky] = x + ((size_t)(iy0 + ky) * s->iw + ix0) * s->iwpp;
            bin_fire_512_in(s, s->wT, seg, k, k * s->iwpp, NULL, nbits, out + ((size_t)oy * s->ow + ox) * s->owpp);
        }
        return;
    }
    uint64_t rw[64], mk[64];
    const uint64_t *seg0 = rw;
    const int top = (k - 1) * ic;
    const uint64_t pix = ic == 64 ? ~0ull : (1ull << ic) - 1;
    int slid = 0;   /* rw holds the previous position's full window */
    for (int ox = ox0; ox < ox1; ox++) {
        int ix0 = ox * st - s->pad;
        uint64_t *y = out + ((size_t)oy * s->ow + ox) * s->owpp;
        if (iy0 >= 0 && ix0 >= 0 && iy0 + k <= s->ih && ix0 + k <= s->iw) {
            for (int ky = 0; ky < k; ky++) {
                const uint64_t *px = x + (size_t)(iy0 + ky) * s->iw + ix0;
                if (st == 1 && slid) rw[ky] = (rw[ky] >> ic) | (px[k - 1] << top);   /* slide by one pixel */
                else {
                    uint64_t v = 0;
                    for (int kx = 0; kx < k; kx++) v |= px[kx] << (kx * ic);
                    rw[ky] = v;
                }
            }
            slid = 1;
            bin_fire_512_in(s, s->wR, &seg0, 1, k, NULL, nbits, y);
            continue;
        }
        /* a border window: the pixels inside, and a mask of their bits */
        long nv = 0;
        for (int ky = 0; ky < k; ky++) {
            int iy = iy0 + ky;
            uint64_t v = 0, m = 0;
            for (int kx = 0; kx < k && iy >= 0 && iy < s->ih; kx++) {
                int ix = ix0 + kx;
                if (ix < 0 || ix >= s->iw) continue;
                v |= x[(size_t)iy * s->iw + ix] << (kx * ic);
                m |= pix << (kx * ic);
                nv++;
            }
            rw[ky] = v; mk[ky] = m;
        }
        slid = 0;
        bin_fire_512_in(s, s->wR, &seg0, 1, k, mk, nv * ic, y);
    }
}
#else
static void bin_fire_512(const bstage *s, const uint64_t *Wt, const uint64_t *const *seg, int nseg, int L, const uint64_t *mk, long nbits, uint64_t *y) {
    (void)s; (void)Wt; (void)seg; (void)nseg; (void)L; (void)mk; (void)nbits; (void)y;
}
static void bin_row_512(const bstage *s, const uint64_t *x, int oy, int ox0, int ox1, uint64_t *out) {
    (void)s; (void)x; (void)oy; (void)ox0; (void)ox1; (void)out;
}
#endif
/* the portable form: every row's popcount (R8 at once, plain C), then the thresholds */
static void bin_fire_port(const bstage *s, const uint64_t *xw, const uint64_t *mk, long nbits, int64_t *restrict pc, uint64_t *y) {
    const int R8 = s->R8;
    memset(pc, 0, sizeof(int64_t) * R8);
    pop_rows_port(xw, mk, s->wT, s->nd, R8, 0, pc, NULL);
    for (int o = 0; o < R8; o++) pc[o] = nbits - 2 * pc[o];
    fire_rows_port(s, pc, y);
}

#ifdef __x86_64__
// one VNNI step on 32-bit words: byte quads (VPDPBUSD) or int16 pairs when i16 (VPDPWSSD); i16 is a constant
// at each inlined use, so each loop gets one instruction
__attribute__((target("avx512f,avx512vnni"), always_inline))
static inline __m512i dp_word(int i16, __m512i a, __m512i x, __m512i w) {
    return i16 ? _mm512_dpwssd_epi32(a, x, w) : _mm512_dpbusd_epi32(a, x, w);
}
// P output positions at once: xs is (P, xstride) bytes, patch p's fan words (byte quads code + 128, or int16
// pairs when i16) at xs + p * xstride; W is (fan,R16,one word per row); a32 is (P,R16) = init + the dots (init:
// -128 * wsum for bytes, 0 for int16). Each weight vector is loaded once per P positions and meets each patch's
// word as a broadcast, so the loop is VPDPBUSD / VPDPWSSD alone.
__attribute__((target("avx512f,avx512vnni"), always_inline))
static inline void dot_block(const uint8_t *xs, size_t xstride, const uint8_t *W, const int32_t *init, int fan, int R16,
                             int32_t *a32, const int P, const int i16) {
    for (int o0 = 0; o0 < R16; o0 += 16) {
        __m512i a[8];
        for (int p = 0; p < P; p++) a[p] = _mm512_loadu_si512(init + o0);
        const uint8_t *w = W + (size_t)o0 * 4;
        for (int j = 0; j < fan; j++, w += (size_t)R16 * 4) {
            __m512i wv = _mm512_loadu_si512(w);
            for (int p = 0; p < P; p++) {
                int32_t q;
                memcpy(&q, xs + (size_t)p * xstride + 4 * (size_t)j, sizeof q);
                a[p] = dp_word(i16, a[p], _mm512_set1_epi32(q), wv);
            }
        }
        for (int p = 0; p < P; p++) _mm512_storeu_si512(a32 + (size_t)p * R16 + o0, a[p]);
    }
}
// n positions' sums, blocks of 8, then 4, then single positions; i16 chooses the instruction (one loop each)
__attribute__((target("avx512f,avx512vnni"), always_inline))
static inline void dot_rows_block_in(const uint8_t *xs, size_t xstride, const uint8_t *W, const int32_t *init, int fan,
                                     int R16, int32_t *a32, int n, const int i16) {
    int p = 0;
    for (; p + 8 <= n; p += 8) dot_block(xs + (size_t)p * xstride, xstride, W, init, fan, R16, a32 + (size_t)p * R16, 8, i16);
    for (; p + 4 <= n; p += 4) dot_block(xs + (size_t)p * xstride, xstride, W, init, fan, R16, a32 + (size_t)p * R16, 4, i16);
    for (; p < n; p++) dot_block(xs + (size_t)p * xstride, xstride, W, init, fan, R16, a32 + (size_t)p * R16, 1, i16);
}
__attribute__((target("avx512f,avx512vnni")))
static void dot8_rows_block(const uint8_t *xs, size_t xstride, const int8_t *W, const int32_t *init, int fan4, int R16,
                            int32_t *a32, int n) {
    dot_rows_block_in(xs, xstride, (const uint8_t *)W, init, fan4, R16, a32, n, 0);
}
__attribute__((target("avx512f,avx512vnni")))
static void dot16_rows_block(const uint8_t *xs, size_t xstride, const int16_t *W, const int32_t *init, int fan2, int R16,
                             int32_t *a32, int n) {
    dot_rows_block_in(xs, xstride, (const uint8_t *)W, init, fan2, R16, a32, n, 1);
}
#else
/* never called here: the row-block paths need AVX-512 VNNI */
static void dot8_rows_block(const uint8_t *xs, size_t xstride, const int8_t *W, const int32_t *init, int fan4, int R16,
                            int32_t *a32, int n) {
    (void)xs; (void)xstride; (void)W; (void)init; (void)fan4; (void)R16; (void)a32; (void)n;
}
static void dot16_rows_block(const uint8_t *xs, size_t xstride, const int16_t *W, const int32_t *init, int fan2, int R16,
                             int32_t *a32, int n) {
    (void)xs; (void)xstride; (void)W; (void)init; (void)fan2; (void)R16; (void)a32; (void)n;
}
#endif
// portable: a32 (R16) = sum over j < fan2 of the int16 pair times each row's pair, int32 sums (plain C)
static void dot16_port(const int16_t *restrict x16, const int16_t *restrict W, int fan2, int R16, int32_t *restrict a32) {
    memset(a32, 0, sizeof(int32_t) * R16);
    for (int j = 0; j < fan2; j++) {
        const int32_t xa = x16[2 * j], xb = x16[2 * j + 1];
        if (!xa && !xb) continue;   /* a zero pair adds nothing (padding, code 0) */
        const int16_t *restrict w = W + (size_t)j * R16 * 2;
        for (int o = 0; o < R16; o++) a32[o] += xa * w[2 * o] + xb * w[2 * o + 1];
    }
}

#ifdef __x86_64__
/* the activations of all rows from int32 accumulators a32 (R16 lanes), AVX-512: sign bits from the clamped
 * thresholds lo32 / hi32 (R16; padded rows never fire), or codes qlo + #(dir * acc >= thrT[t]) */
__attribute__((target("avx512f"), always_inline))
static inline void fire32_512_in(const bstage *s, const int32_t *a32, const int32_t *lo32, const int32_t *hi32, void *yv) {
    if (!s->out_codes) {
        uint64_t *y = yv;
        memset(y, 0, sizeof(uint64_t) * s->owpp);
        for (int o = 0; o < s->rows; o += 16) {
            __m512i a = _mm512_loadu_si512(a32 + o);
            __mmask16 m = _mm512_cmpge_epi32_mask(a, _mm512_loadu_si512(lo32 + o)) & _mm512_cmple_epi32_mask(a, _mm512_loadu_si512(hi32 + o));
            y[o >> 6] |= (uint64_t)m << (o & 63);
        }
        int r = s->rows & 63;
        if (r) y[s->rows >> 6] &= (1ull << r) - 1;
        return;
    }
    int32_t *y = yv;
    const __m512i one = _mm512_set1_epi32(1);
    for (int o = 0; o < s->rows; o += 16) {
        __mmask16 lm = s->rows - o >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (s->rows - o)) - 1);
        __m512i a = _mm512_mullo_epi32(_mm512_loadu_si512(a32 + o), _mm512_maskz_loadu_epi32(lm, s->sgn + o));
        __m512i c = _mm512_set1_epi32(s->qlo);
        const int32_t *T = s->thrT + o;
        for (int t = 0; t < s->nthr; t++, T += s->R8)
            c = _mm512_mask_add_epi32(c, _mm512_cmpge_epi32_mask(a, _mm512_maskz_loadu_epi32(lm, T)), c, one);
        _mm512_mask_storeu_epi32(y, lm, c);
        y += 16;
    }
}
/* n positions' sums (a32 is (n,R16)) into n consecutive output positions from y0 */
__attribute__((target("avx512f")))
static void fire32_row_512(const bstage *s, const int32_t *a32, int n, const int32_t *lo32, const int32_t *hi32, uint64_t *y0) {
    if (!s->out_codes && s->rows <= 16) {   /* one vector and one output word per position */
        const __m512i lo = _mm512_loadu_si512(lo32), hi = _mm512_loadu_si512(hi32);
        uint64_t *y = y0;
        for (int p = 0; p < n; p++, y += s->owpp) {
            __m512i a = _mm512_loadu_si512(a32 + (size_t)p * s->R16);
            y[0] = (uint16_t)(_mm512_cmpge_epi32_mask(a, lo) & _mm512_cmple_epi32_mask(a, hi));
        }
        return;
    }
    for (int p = 0; p < n; p++) fire32_512_in(s, a32 + (size_t)p * s->R16, lo32, hi32, pos_out(s, y0, 0, (size_t)p));
}
#else
static void fire32_row_512(const bstage *s, const int32_t *a32, int n, const int32_t *lo32, const int32_t *hi32, uint64_t *y0) {
    (void)s; (void)a32; (void)n; (void)lo32; (void)hi32; (void)y0;
}
#endif
/* copy n elements of sz bytes in 8-byte moves (may write up to 7 bytes past the end: the patch buffers have slack) */
static inline void copy_run(void *dst, const void *src, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 8) memcpy((char *)dst + i, (const char *)src + i, 8);
}

// portable: a32 (rows) = the patch x16 (fan int16 codes) dotted with each row of K (rows, fan) int16, int32 sums
// (plain C: a widening int16 dot product, which compilers vectorise as such)
static void dotrows_port(const int16_t *restrict x16, const int16_t *restrict K, int fan, int rows, int32_t *restrict a32) {
    for (int o = 0; o < rows; o++) {
        const int16_t *restrict k = K + (size_t)o * fan;
        int32_t sum = 0;
        for (int j = 0; j < fan; j++) sum += (int32_t)x16[j] * (int32_t)k[j];
        a32[o] = sum;
    }
}

/* which stages the fast conv takes: binary ones, and code x code ones with an int16 copy (not a pruned one on
 * the portable path, which reads only the kept channels in position_acc) */
static int conv_fast_ok(const bstage *s, int path) {
    if (s->type != S_CONV || path == RM_BNN_REFERENCE) return 0;
    if (s->wk == W_BIN) return 1;
    if (s->wk == W_INT && s->kT16) return !(path != RM_BNN_VPOPCNT && s->kco) && (s->fan2 * 2 >= s->k * s->k * s->ic);
    return 0;
}

static void run_conv_fast(const bstage *s, const uint64_t *in, uint64_t *out, int B, int path) {
    const int k = s->k, ic = s->ic, PH = s->ih + 2 * s->pad, PW = s->iw + 2 * s->pad, run = k * ic;
    const int vec = path == RM_BNN_VPOPCNT;
    const int use8 = s->wk == W_INT && vec && s->kT8 && has_vnni_cached();
    const int use16v = s->wk == W_INT && vec && !use8 && has_vnni_cached();
    int failed = 0;
#pragma omp parallel
    {
        /* per thread: patch (and mask) words, popcounts / accumulators, a padded code map and a patch of codes */
        size_t nd = s->nd > 0 ? (size_t)s->nd : 1, R = (size_t)(s->R16 > s->R8 ? s->R16 : s->R8) + 16;
        size_t pm = s->wk == W_INT ? (size_t)PH * PW * ic + 64 : 0, np = s->wk == W_INT ? (size_t)s->fan4 * 4 + (size_t)s->fan2 * 2 + 64 : 0;
        int32_t *lo32 = malloc(sizeof(int32_t) * 2 * R);   /* sign thresholds clamped to int32 (|acc| < 2^31) */
        for (size_t o = 0; lo32 && o < R; o++) {
            int in = (int)o < s->rows && !s->out_codes;
            int64_t lo = in ? s->tlo[o] : INT32_MAX, hi = in ? s->thi[o] : INT32_MIN;
            lo32[o] = (int32_t)(lo < INT32_MIN ? INT32_MIN : lo > INT32_MAX ? INT32_MAX : lo);
            lo32[R + o] = (int32_t)(hi < INT32_MIN ? INT32_MIN : hi > INT32_MAX ? INT32_MAX : hi);
        }
        uint64_t *xw = malloc(sizeof(uint64_t) * 2 * nd + 64);
        int64_t *acc = malloc(sizeof(int64_t) * R);
        int32_t *a32 = malloc(sizeof(int32_t) * R);
        int16_t *map = malloc(sizeof(int16_t) * (pm + np));
        /* VNNI (8-bit or int16 codes): one output row's patches (xstride bytes each), its (ow,R16) sums and their
         * start init (-128 * wsum for bytes, 0 for int16) */
        const int rowblk = use8 || use16v;
        size_t xstride = use8 ? (size_t)s->fan4 * 4 : use16v ? (size_t)s->fan2 * 4 : 0;
        uint8_t *xs = rowblk ? malloc(xstride * s->ow + 64) : NULL;
        int32_t *rs = rowblk ? malloc(sizeof(int32_t) * ((size_t)s->ow + 1) * R) : NULL;
        int32_t *init = rs ? rs + (size_t)s->ow * R : NULL;
        for (int o = 0; init && o < s->R16; o++) init[o] = use8 ? -128 * s->wsum[o] : 0;
        int ok = xw && acc && a32 && map && lo32 && (!rowblk || (xs && rs));
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        uint64_t *mk = xw ? xw + nd : NULL;
        uint8_t *map8 = (uint8_t *)map;
        int16_t *x16 = map ? map + pm : NULL;
        if (ok && s->wk == W_INT && !rowblk) memset(x16, 0, sizeof(int16_t) * s->fan2 * 2);   /* the tail past fan */
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            if (!ok) continue;
            const uint64_t *x = in + (size_t)b * s->in_words;
            if (s->wk == W_INT) {   /* the sample's codes into the padded map */
                const int32_t *xc = (const int32_t *)x;
                if (use8) memset(map8, 128, (size_t)PH * PW * ic);
                else memset(map, 0, sizeof(int16_t) * PH * PW * ic);
                for (int y = 0; y < s->ih; y++) {
                    const int32_t *src = xc + (size_t)y * s->iw * ic;
                    size_t d = ((size_t)(y + s->pad) * PW + s->pad) * ic;
                    if (use8) for (int j = 0; j < s->iw * ic; j++) map8[d + j] = (uint8_t)(src[j] + 128);
                    else for (int j = 0; j < s->iw * ic; j++) map[d + j] = (int16_t)src[j];
                }
            }
            for (int oy = 0; oy < s->oh; oy++) {
                if (rowblk) {   /* the row's patches, then all its positions' sums at once */
                    if (oy == 0) memset(xs, use8 ? 128 : 0, xstride * s->ow + 64);   /* the tails past fan: weight 0 */
                    const size_t esz = use8 ? 1 : sizeof(int16_t);
                    const uint8_t *src = use8 ? map8 : (const uint8_t *)map;
                    for (int ox = 0; ox < s->ow; ox++) {
                        size_t p0 = ((size_t)oy * s->s * PW + (size_t)ox * s->s) * ic;
                        for (int ky = 0; ky < k; ky++)
                            copy_run(xs + ox * xstride + (size_t)ky * run * esz, src + (p0 + (size_t)ky * PW * ic) * esz, (size_t)run * esz);
                    }
                    if (use8) dot8_rows_block(xs, xstride, s->kT8, init, s->fan4, s->R16, rs, s->ow);
                    else dot16_rows_block(xs, xstride, s->kT16, init, s->fan2, s->R16, rs, s->ow);
                    fire32_row_512(s, rs, s->ow, lo32, lo32 + R, pos_out(s, out, b, (size_t)oy * s->ow));
                    continue;
                }
                /* binary, AVX-512: the row's full windows [fx0, fx1) at once (bin_row_512), the border ones below */
                int fx0 = 0, fx1 = 0;
                if (s->wk == W_BIN && vec && s->wR) {   /* narrow pixels: every window of the row, border ones masked */
                    bin_row_512(s, x, oy, 0, s->ow, (uint64_t *)pos_out(s, out, b, 0));
                    continue;
                }
                if (s->wk == W_BIN && vec && (ic & 63) == 0 && k <= 16) {
                    int iy0 = oy * s->s - s->pad;
                    if (iy0 >= 0 && iy0 + k <= s->ih) {
                        fx0 = (s->pad + s->s - 1) / s->s;
                        fx1 = s->iw - k + s->pad < 0 ? 0 : (s->iw - k + s->pad) / s->s + 1;
                        if (fx1 > s->ow) fx1 = s->ow;
                        if (fx0 < fx1) bin_row_512(s, x, oy, fx0, fx1, (uint64_t *)pos_out(s, out, b, 0));
                        else fx0 = fx1 = 0;
                    }
                }
                for (int ox = 0; ox < s->ow; ox++) {
                    if (ox == fx0 && fx0 < fx1) { ox = fx1 - 1; continue; }
                    void *y = pos_out(s, out, b, (size_t)oy * s->ow + ox);
                    if (s->wk == W_BIN) {
                        int border;
                        long nbits = bin_patch(s, x, oy, ox, xw, mk, &border);
                        const uint64_t *seg0 = xw;
                        if (vec) bin_fire_512(s, s->wT, &seg0, 1, s->nd, border ? mk : NULL, nbits, y);
                        else bin_fire_port(s, xw, border ? mk : NULL, nbits, acc, y);
                        continue;
                    }
                    size_t p0 = ((size_t)oy * s->s * PW + (size_t)ox * s->s) * ic;
                    /* runs in 8-byte moves: what spills past a run is overwritten by the next one or lands in
                     * the tail past fan, whose weights are 0 (and not in wsum) */
                    for (int ky = 0; ky < k; ky++) copy_run(x16 + (size_t)ky * run, map + p0 + (size_t)ky * PW * ic, sizeof(int16_t) * run);
                    if (s->fan >= 64) dotrows_port(x16, s->kc16, s->fan, s->rows, a32);   /* long rows: one dot each */
                    else {   /* short patches (a first layer): all rows per input pair */
                        for (int j = s->fan; j < s->fan2 * 2; j++) x16[j] = 0;
                        dot16_port(x16, s->kT16, s->fan2, s->R16, a32);
                    }
                    for (int o = 0; o < s->R8; o++) acc[o] = o < s->rows ? a32[o] : 0;
                    if (!s->out_codes) memset(y, 0, sizeof(uint64_t) * s->owpp);
                    fire_rows(s, path, acc, y);
                }
            }
        }
        free(xw); free(acc); free(a32); free(map); free(lo32); free(xs); free(rs);
    }
    if (failed) run_conv_ref(s, in, out, B, RM_BNN_PORTABLE);   /* a worker was out of memory: the plain loops */
}

static void run_conv(const bstage *s, const uint64_t *in, uint64_t *out, int B, int path) {
    if (path == RM_BNN_REFERENCE) { run_conv_ref(s, in, out, B, RM_BNN_PORTABLE); return; }
    if (conv_fast_ok(s, path)) { run_conv_fast(s, in, out, B, path); return; }
    int k = s->k, kk = k * k, failed = 0;
#pragma omp parallel
    {
        pos_work w;
        int ok = !work_alloc(&w, s->nd > 0 ? s->nd : 1, s->R8, kk) && !work_alloc16(&w, s);
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < s->oh; oy++) {
                if (!ok) continue;
                const uint64_t *x = in + (size_t)b * s->in_words;
                for (int ox = 0; ox < s->ow; ox++) {
                    int nv = 0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                            if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                            w.kp[nv] = ky * k + kx;
                            w.pix[nv++] = iy * s->iw + ix;
                        }
                    position_acc(s, path, x, nv, &w);
                    fire_rows(s, path, w.acc, pos_out(s, out, b, (size_t)oy * s->ow + ox));
                }
            }
        work_free(&w);
    }
    if (failed) run_conv_ref(s, in, out, B, RM_BNN_PORTABLE);   /* a worker was out of memory: the plain loops */
}

static void run_pool(const bstage *s, const uint64_t *in, uint64_t *out, int B) {
    if (s->in_codes) {   /* n-bit codes: max of the window */
        int C = s->ic;
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++) {
                    const int32_t *x = (const int32_t *)(in + (size_t)b * s->in_words);
                    int32_t *restrict y = (int32_t *)(out + (size_t)b * s->out_words) + ((size_t)oy * s->ow + ox) * C;
                    for (int c = 0; c < C; c++) y[c] = INT32_MIN;
                    for (int ky = 0; ky < s->k; ky++)   /* window pixel by pixel, all channels at once */
                        for (int kx = 0; kx < s->k; kx++) {
                            const int32_t *restrict u = x + ((size_t)(oy * s->s + ky) * s->iw + ox * s->s + kx) * C;
                            for (int c = 0; c < C; c++) y[c] = u[c] > y[c] ? u[c] : y[c];
                        }
                }
        return;
    }
    int wpp = s->iwpp;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                uint64_t *y = out + (size_t)b * s->out_words + ((size_t)oy * s->ow + ox) * wpp;
                const uint64_t *x = in + (size_t)b * s->in_words;
                for (int w = 0; w < wpp; w++) {
                    uint64_t v = 0;
                    for (int ky = 0; ky < s->k; ky++)
                        for (int kx = 0; kx < s->k; kx++)
                            v |= x[((size_t)(oy * s->s + ky) * s->iw + ox * s->s + kx) * wpp + w];
                    y[w] = v;
                }
            }
}

/* NHWC map (H,W,C words per pixel) -> dense HWC bits: each pixel's C bits copied as a block */
static void run_flatten(const bstage *s, const uint64_t *in, uint64_t *out, int B, int H, int W, int C) {
    if (s->in_codes) {   /* codes of an NHWC map are already in (h,w,c) order */
        memcpy(out, in, sizeof(uint64_t) * s->in_words * B);
        return;
    }
    int wpp = (C + 63) / 64;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const uint64_t *x = in + (size_t)b * s->in_words;
        uint64_t *y = out + (size_t)b * s->out_words;
        memset(y, 0, sizeof(uint64_t) * s->out_words);
        for (int p = 0; p < H * W; p++) put_bits(y, (size_t)p * C, x + (size_t)p * wpp, C);
    }
}

static int ensure(rm_ctx *ctx, rm_bnet *e, int B) {
    if (B <= e->B) return RM_OK;
    free(e->buf0); free(e->buf1); free(e->bnm); free(e->bny);
    e->buf0 = rm_calloc(ctx, sizeof(uint64_t) * e->maxwords * B, "engine buffer");
    e->buf1 = e->buf0 ? rm_calloc(ctx, sizeof(uint64_t) * e->maxwords * B, "engine buffer") : NULL;
    e->bnm = e->buf1 ? rm_malloc(ctx, sizeof(float) * 2 * e->K, "engine BN") : NULL;
    e->bny = e->bnm ? rm_malloc(ctx, sizeof(float) * (size_t)B * e->K, "engine BN") : NULL;
    if (!e->bny) { e->B = 0; return RM_ERR; }
    e->B = B;
    return RM_OK;
}

/* count bits of a stage's output that differ from the float forward's sign output (still in the model's
 * layer caches: the engine reruns at most the front) */
static void compare_bits(const rm_bnet *e, const bstage *s, const uint64_t *bits, int B, rm_bnn_check *chk) {
    int c, h, w, sp;
    const float *fy = rm_net_output(e->m, s->sign_layer, &c, &h, &w, &sp);
    int wpp = (c + 63) / 64;
    long bad = 0;
    if (s->out_codes) {   /* the float output is code * 2^-fbits */
        for (int b = 0; b < B; b++) {
            const int32_t *y = (const int32_t *)(bits + (size_t)b * s->out_words);
            const float *v = fy + (size_t)b * c * h * w;
            for (int j = 0; j < c * h * w; j++) bad += (float)y[j] != ldexpf(v[j], s->act_fbits);
        }
        chk->bits += (long)B * c * h * w;
        chk->bit_mismatch += bad;
        return;
    }
    for (int b = 0; b < B; b++) {
        const uint64_t *y = bits + (size_t)b * s->out_words;
        const float *v = fy + (size_t)b * c * h * w;
        for (int p = 0; p < h * w; p++)
            for (int ch = 0; ch < c; ch++) {
                size_t bit = sp ? (size_t)p * wpp * 64 + ch : (size_t)p * c + ch;
                int eb = (int)(y[bit >> 6] >> (bit & 63) & 1), fb = v[(size_t)p * c + ch] >= 0;
                bad += eb != fb;
            }
    }
    chk->bits += (long)B * c * h * w;
    chk->bit_mismatch += bad;
}

void rm_bnet_input_codes(const rm_bnet *e, const float *x, int B, int32_t *codes) {
    int C = e->in_c, HW = e->in_h * e->in_w;
    size_t n = (size_t)C * HW;
    float sc = ldexpf(1, e->in_fbits), lo = -ldexpf(1, e->in_bits - 1), hi = ldexpf(1, e->in_bits - 1) - 1;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            const float *xr = x + (size_t)b * n + (size_t)c * HW;
            int32_t *y = codes + (size_t)b * n + (e->in_sp ? (size_t)c : (size_t)c * HW);
            const size_t st = e->in_sp ? (size_t)C : 1;
            for (int p = 0; p < HW; p++) {
                /* the expression of net.c's quant layer, fminf(fmaxf(r, lo), hi), written as compares (the same
                 * value for every input, NaN -> lo, and no libm calls), then NHWC order for an image */
                float r = nearbyintf(xr[p] * sc);
                r = r >= lo ? r : lo;
                r = r <= hi ? r : hi;
                y[(size_t)p * st] = (int32_t)r;
            }
        }
}

static int engine_run(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits, int64_t *accs, rm_bnn_check *chk,
                      rm_bnn_tap tap, void *tap_ud) {
    if (ensure(ctx, e, B)) return RM_ERR;
    uint64_t *cur = e->buf0, *nxt = e->buf1;
    int H, W, C;
    double tp = e->prof ? rm_now() : 0;
    if (e->int_front) {
        /* int32 codes per sample fit in in_words = n/2 + 1 words */
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) rm_bnet_input_codes(e, x + (size_t)b * e->in_c * e->in_h * e->in_w, 1, (int32_t *)(cur + (size_t)b * e->st[0].in_words));
        H = e->in_h; W = e->in_w; C = e->in_c;
    } else {
        if (rm_net_forward_upto(ctx, e->m, x, B, 0, e->front)) return RM_ERR;
        int c, h, w, sp;
        const float *fy = rm_net_output(e->m, e->front - 1, &c, &h, &w, &sp);
        /* pack the front's +-1 output, or its codes (a quant(bits) last) */
        size_t in_words = e->st[0].in_words;
        int wpp = (c + 63) / 64;
        if (e->fr_codes) {
            for (size_t j = 0; j < (size_t)B * c * h * w; j++) {
                size_t b = j / ((size_t)c * h * w), r = j % ((size_t)c * h * w);
                ((int32_t *)(cur + b * in_words))[r] = (int32_t)ldexpf(fy[j], e->fr_fbits);
            }
        } else {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            uint64_t *y = cur + (size_t)b * in_words;
            memset(y, 0, sizeof(uint64_t) * in_words);
            const float *v = fy + (size_t)b * c * h * w;
            if (sp) {
                for (int p = 0; p < h * w; p++)
                    for (int ch = 0; ch < c; ch++)
                        if (v[(size_t)p * c + ch] >= 0) y[(size_t)p * wpp + (ch >> 6)] |= 1ull << (ch & 63);
            } else {
                for (int j = 0; j < c * h * w; j++) if (v[j] >= 0) y[j >> 6] |= 1ull << (j & 63);
            }
        }
        }
        H = h; W = w; C = c;
    }
    if (e->prof) { double t = rm_now(); e->prof[e->ns] += t - tp; tp = t; }
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        switch (s->type) {
        case S_FLATTEN: run_flatten(s, cur, nxt, B, H, W, C); C = C * H * W; H = W = 1; break;
        case S_POOL: run_pool(s, cur, nxt, B); H = s->oh; W = s->ow; break;
        case S_CONV: run_conv(s, cur, nxt, B, e->path); H = s->oh; W = s->ow; C = s->oc; break;
        case S_LINEAR:
            if (s->final) {
                int64_t *acc = accs ? accs : (int64_t *)nxt;   /* nxt holds B*K int64 (maxwords >= K/64+1 is not enough) */
                int64_t *tmp = NULL;
                if (!accs && (size_t)B * e->K > (size_t)B * e->maxwords) {
                    if (!(tmp = rm_malloc(ctx, sizeof(int64_t) * B * e->K, "engine logits"))) return RM_ERR;
                    acc = tmp;
                }
                run_linear(s, cur, NULL, acc, B, e->path);
                if (logits) {
                    float *z = s->bn_layer >= 0 ? e->bny : logits;
                    for (int b = 0; b < B; b++)
                        for (int o = 0; o < e->K; o++)
                            z[(size_t)b * e->K + o] = rm_net_post((float)acc[(size_t)b * e->K + o] * s->unit, s->alpha, s->bias, o);
                    if (s->bn_layer >= 0) {
                        bnref r = bn_of(e->m, s->bn_layer);
                        bn_forward(logits, e->bnm, e->bnm + e->K, z, r.g, r.b, r.rm, r.rv, B, e->K, 0, 0.1f, 1e-5f, 0, e->m->scratch);
                    }
                }
                free(tmp);
                if (e->prof) e->prof[i] += rm_now() - tp;
                return RM_OK;
            }
            run_linear(s, cur, nxt, NULL, B, e->path);
            C = s->rows; H = W = 1;
            break;
        }
        if (e->prof) { double t = rm_now(); e->prof[i] += t - tp; tp = t; }
        if (chk && s->sign_layer >= 0) compare_bits(e, s, nxt, B, chk);
        if (tap) tap(tap_ud, i, nxt, s->out_words, B);
        uint64_t *t = cur; cur = nxt; nxt = t;
    }
    return rm_err(ctx, "integer engine: no final linear layer");
}

int rm_bnet_forward(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits) { return engine_run(ctx, e, x, B, logits, NULL, NULL, NULL, NULL); }
int rm_bnet_forward_acc(rm_ctx *ctx, rm_bnet *e, const float *x, int B, int64_t *acc) { return engine_run(ctx, e, x, B, NULL, acc, NULL, NULL, NULL); }
int rm_bnet_trace(rm_ctx *ctx, rm_bnet *e, const float *x, int B, int64_t *acc, rm_bnn_tap tap, void *ud) {
    return engine_run(ctx, e, x, B, NULL, acc, NULL, tap, ud);
}

/* ---- verification against the float forward -------------------------------------------------------- */

int rm_bnet_verify(rm_ctx *ctx, rm_bnet *e, const rm_dataset *ds, int batch, rm_bnn_check *out) {
    memset(out, 0, sizeof *out);
    out->first_mismatch = -1;
    rm_model *m = e->m;
    size_t in = rm_model_input_size(m);
    if ((size_t)ds->c * ds->h * ds->w != in) return rm_err(ctx, "data set %s does not fit the network's input of %zu", ds->name, in);
    if (batch < 1) batch = 256;
    float *x = rm_malloc(ctx, sizeof(float) * in * batch, "verify batch");
    float *zf = rm_malloc(ctx, sizeof(float) * (size_t)batch * e->K, "verify logits");
    float *ze = rm_malloc(ctx, sizeof(float) * (size_t)batch * e->K, "verify logits");
    int *y = rm_malloc(ctx, sizeof(int) * batch, "verify labels"), *idx = rm_malloc(ctx, sizeof(int) * batch, "verify index");
    int st = RM_ERR;
    if (!x || !zf || !ze || !y || !idx) goto done;
    for (int s0 = 0; s0 < ds->n; s0 += batch) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "verification interrupted"); goto done; }
        int B = ds->n - s0 < batch ? ds->n - s0 : batch;
        for (int i = 0; i < B; i++) idx[i] = s0 + i;
        rm_make_batch_flat(ds, idx, B, x, y);
        /* the float forward first: the engine reruns at most the front, so the float sign outputs of the
         * later layers stay in the caches for compare_bits */
        if (rm_model_forward(ctx, m, x, B, 0, RM_FULL)) goto done;
        memcpy(zf, m->c.logits, sizeof(float) * B * e->K);
        if (engine_run(ctx, e, x, B, ze, NULL, out, NULL, NULL)) goto done;
        for (int b = 0; b < B; b++) {
            int bf = 0, be = 0, same = 1;
            for (int k = 1; k < e->K; k++) {
                if (zf[b * e->K + k] > zf[b * e->K + bf]) bf = k;
                if (ze[b * e->K + k] > ze[b * e->K + be]) be = k;
            }
            for (int k = 0; k < e->K; k++) {
                float d = fabsf(zf[b * e->K + k] - ze[b * e->K + k]);
                if (d > out->max_logit_err) out->max_logit_err = d;
                if (memcmp(&zf[b * e->K + k], &ze[b * e->K + k], sizeof(float))) same = 0;
            }
            if (!same) { out->logit_mismatch++; if (out->first_mismatch < 0) out->first_mismatch = s0 + b; }
            out->agree += bf == be;
            out->correct += be == y[b];
            out->float_correct += bf == y[b];
        }
        out->n += B;
    }
    st = RM_OK;
done:
    free(x); free(zf); free(ze); free(y); free(idx);
    return st;
}

rm_model *rm_bnet_model(const rm_bnet *e) { return e->m; }
void rm_bnet_profile(rm_bnet *e, double *t) { e->prof = t; }

int rm_bnet_stage_acts(const rm_bnet *e, int i, int64_t acc, int32_t *eng, int32_t *flt) {
    const bstage *s = &e->st[i];
    int64_t *a = malloc(sizeof(int64_t) * s->rows);
    float *x = malloc(sizeof(float) * s->rows * 4);
    if (!a || !x) { free(a); free(x); return -1; }
    for (int r = 0; r < s->rows; r++) a[r] = acc;
    stage_values(s, e->m, a, x, x + s->rows, x + 2 * s->rows);
    for (int o = 0; o < s->rows; o++) {
        eng[o] = s->out_codes ? mcode(s, o, acc) : fire(s, o, acc);
        flt[o] = s->out_codes ? quant_code(s, x[s->rows + o]) : x[s->rows + o] >= 0;
    }
    free(a); free(x);
    return 0;
}
