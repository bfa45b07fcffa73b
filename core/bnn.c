/* bnn.c - XNOR-popcount engine for binarised layer-list nets (see bnn.h): packing, threshold folding of
 * bias + BN + sign, binary linear / conv / maxpool stages, the final layer's logits, and verification
 * against the float forward. Bit 1 means +1 (sign(x) = +1 for x >= 0, as the float forward). */
#include "bnn.h"
#include "net.h"
#include "layers.h"
#include "data.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

enum { S_LINEAR = 0, S_CONV, S_POOL, S_FLATTEN };

typedef struct bstage {
    int type, layer, sign_layer, bn_layer;   /* net layer indices (-1 when absent) */
    int spatial_in;                          /* input NHWC bits (else flat) */
    int ih, iw, ic, iwpp, oh, ow, oc, owpp;  /* spatial geometry; wpp = 64-bit words per pixel */
    int F, fwords;                           /* flat input bits and words */
    int k, s, pad;
    int rows, kw;                            /* output channels/features; weight words per row */
    uint64_t *w;                             /* (rows, kw) */
    int32_t *thr;                            /* (rows) */
    int8_t *dir;                             /* 1: acc >= thr; -1: acc <= thr; 2: always +1; -2: always -1 */
    const float *bias;                       /* final layer */
    size_t in_words, out_words;              /* per sample */
} bstage;

struct rm_bnet {
    rm_model *m;
    int front;                  /* layers [0, front) run in float; layer front-1 is a sign */
    int fr_sp, fr_c, fr_h, fr_w;
    int ns;
    bstage st[RM_NET_MAXL];
    int path;
    size_t maxwords;
    int B;                      /* capacity of the work buffers */
    uint64_t *buf0, *buf1;
    float *bnm, *bnr, *bny;     /* final BN scratch */
    int K;
};

static int has_vpopcnt(void) {
#ifdef __x86_64__
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    return 0;
#endif
}

const char *rm_bnn_path_name(int p) { return p == RM_BNN_VPOPCNT ? "avx512-vpopcntdq" : p == RM_BNN_PORTABLE ? "portable" : "auto"; }

int rm_bnet_set_path(rm_bnet *e, int path) {
    const char *env = getenv("RESMLP_BNN_PATH");
    if (path == RM_BNN_AUTO && env && !strcmp(env, "portable")) path = RM_BNN_PORTABLE;
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
#else
static int pop_xor512(const uint64_t *a, const uint64_t *w, int n) { return pop_xor(a, w, n); }
#endif

static inline int popx(int path, const uint64_t *a, const uint64_t *w, int n) {
    return path == RM_BNN_VPOPCNT && n >= 4 ? pop_xor512(a, w, n) : pop_xor(a, w, n);
}

static inline int fire(const bstage *s, int o, int acc) {
    switch (s->dir[o]) {
    case 1: return acc >= s->thr[o];
    case -1: return acc <= s->thr[o];
    case 2: return 1;
    default: return 0;
    }
}

/* ---- building ----------------------------------------------------------------------------------- */

/* thresholds: run the model's own bias add + BN kernel on every accumulator value -F..F and read off
 * where sign() switches */
static int fold_thresholds(rm_ctx *ctx, rm_model *m, bstage *s, int F, const float *bias, int bn_layer) {
    int rows = s->rows, N = 2 * F + 1;
    float *x = rm_malloc(ctx, sizeof(float) * (size_t)N * rows, "threshold candidates");
    float *y = rm_malloc(ctx, sizeof(float) * (size_t)N * rows, "threshold candidates");
    float *mean = rm_malloc(ctx, sizeof(float) * rows * 2, "threshold BN");
    s->thr = rm_malloc(ctx, sizeof(int32_t) * rows, "thresholds");
    s->dir = rm_malloc(ctx, sizeof(int8_t) * rows, "thresholds");
    int st = RM_ERR;
    if (!x || !y || !mean || !s->thr || !s->dir) goto done;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < rows; o++) x[(size_t)n * rows + o] = bias ? (float)(n - F) + bias[o] : (float)(n - F);
    const float *v = x;
    if (bn_layer >= 0) {
        char pre[48], nm[64];
        snprintf(pre, sizeof pre, "layers.%d.", bn_layer);
        snprintf(nm, sizeof nm, "%sweight", pre); float *g = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "%sbias", pre); float *b = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "%srunning_mean", pre); float *rmean = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "%srunning_var", pre); float *rvar = rm_model_tensor_data(m, nm, NULL);
        bn_forward(y, mean, mean + rows, x, g, b, rmean, rvar, N, rows, 0, 0.1f, 1e-5f, 0, m->scratch);
        v = y;
    }
    for (int o = 0; o < rows; o++) {
        int first_on = -1, last_on = -1, changes = 0, prev = -1;
        for (int n = 0; n < N; n++) {
            int on = v[(size_t)n * rows + o] >= 0;
            if (on) { if (first_on < 0) first_on = n; last_on = n; }
            if (prev >= 0 && on != prev) changes++;
            prev = on;
        }
        if (first_on < 0) s->dir[o] = -2;
        else if (changes == 0) s->dir[o] = 2;
        else if (changes == 1 && last_on == N - 1) { s->dir[o] = 1; s->thr[o] = first_on - F; }
        else if (changes == 1 && first_on == 0) { s->dir[o] = -1; s->thr[o] = last_on - F; }
        else { rm_err(ctx, "layer %d channel %d: bias + BN + sign is not monotone in the accumulator", s->layer, o); goto done; }
    }
    st = RM_OK;
done:
    free(x); free(y); free(mean);
    return st;
}

static int pack_weights(rm_ctx *ctx, rm_model *m, bstage *s, const rm_nlayer_spec *ls, int perm_h, int perm_w, int perm_c) {
    int rows, cols;
    const float *wq = rm_net_weights_used(m, s->layer, &rows, &cols);
    s->w = rm_calloc(ctx, sizeof(uint64_t) * (size_t)rows * s->kw, "packed weights");
    if (!s->w) return RM_ERR;
    for (int o = 0; o < rows; o++) {
        uint64_t *wr = s->w + (size_t)o * s->kw;
        const float *src = wq + (size_t)o * cols;
        if (s->type == S_CONV) {
            /* PyTorch order (c, ky, kx) -> words per kernel pixel (ky, kx), channel bits inside */
            for (int c = 0; c < s->ic; c++)
                for (int ky = 0; ky < s->k; ky++)
                    for (int kx = 0; kx < s->k; kx++)
                        if (src[(c * s->k + ky) * s->k + kx] >= 0) {
                            size_t bit = (size_t)(ky * s->k + kx) * s->iwpp * 64 + c;
                            wr[bit >> 6] |= 1ull << (bit & 63);
                        }
        } else {
            for (int j = 0; j < cols; j++) {
                /* after a flatten of an NHWC map the input bits are in HWC order: weights are in CHW */
                int src_j = j;
                if (perm_c > 0) { int p = j / perm_c, c = j % perm_c; src_j = c * perm_h * perm_w + p; }
                if (src[src_j] >= 0) wr[j >> 6] |= 1ull << (j & 63);
            }
        }
    }
    (void)ls;
    return RM_OK;
}

int rm_bnet_build(rm_ctx *ctx, rm_model *m, rm_bnet **out) {
    *out = NULL;
    const rm_net_spec *sp = rm_net_spec_of(m);
    if (!sp) return rm_err(ctx, "the binary engine takes layer-list nets (this is a ResMLP)");
    rm_bnet *e = calloc(1, sizeof *e);
    if (!e) return rm_err(ctx, "out of memory");
    e->m = m;
    e->K = m->cfg.K;
    int i = 0;
    while (i < sp->n && sp->l[i].type != RM_NL_SIGN) i++;
    if (i >= sp->n) { free(e); return rm_err(ctx, "the binary engine needs sign activations (this net has none)"); }
    e->front = i + 1;
    rm_net_output(m, i, &e->fr_c, &e->fr_h, &e->fr_w, &e->fr_sp);
    int sp_in = e->fr_sp, H = e->fr_h, W = e->fr_w, C = e->fr_c;
    int perm_h = 0, perm_w = 0, perm_c = 0;   /* a flatten of an NHWC map happened */
    size_t words = sp_in ? (size_t)H * W * ((C + 63) / 64) : (size_t)(C * H * W + 63) / 64;
    e->maxwords = words;
    int last_weight = -1;
    for (int j = 0; j < sp->n; j++) if (sp->l[j].type == RM_NL_LINEAR || sp->l[j].type == RM_NL_CONV) last_weight = j;
    if (last_weight < e->front) { rm_bnet_free(e); return rm_err(ctx, "no weight layer after the first sign"); }
    for (i = e->front; i < sp->n;) {
        const rm_nlayer_spec *l = &sp->l[i];
        const char *nm = rm_nlayer_name(l->type);
        bstage *s = &e->st[e->ns];
        memset(s, 0, sizeof *s);
        s->layer = i; s->sign_layer = s->bn_layer = -1;
        s->in_words = words;
        if (l->type == RM_NL_DROPOUT) { i++; continue; }
        if (l->type == RM_NL_FLATTEN) {
            if (sp_in) { perm_h = H; perm_w = W; perm_c = C; C = C * H * W; H = W = 1; sp_in = 0; }
            s->type = S_FLATTEN;
            s->ih = e->fr_h; s->ic = C;
            words = (size_t)(C + 63) / 64;
            s->out_words = words;
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
            words = (size_t)H * W * s->owpp;
            s->out_words = words;
            e->ns++;
            i++;
            continue;
        }
        if (l->type != RM_NL_LINEAR && l->type != RM_NL_CONV) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): the binary engine expects binary linear/conv, bn, sign, maxpool after the first sign", i, nm);
        }
        if (l->wq != RM_WQ_BINARY) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): weights must be binary after the first sign (w=binary); only the front may be n-bit", i, nm);
        }
        int rows, cols;
        rm_net_weights_used(m, i, &rows, &cols);
        s->rows = rows;
        char bn_name[48];
        snprintf(bn_name, sizeof bn_name, "layers.%d.bias", i);
        const float *bias = l->bias ? rm_model_tensor_data(m, bn_name, NULL) : NULL;
        int j = i + 1;
        if (j < sp->n && sp->l[j].type == RM_NL_BN) s->bn_layer = j++;
        while (j < sp->n && sp->l[j].type == RM_NL_DROPOUT) j++;
        int final = i == last_weight;
        if (!final) {
            if (j >= sp->n || sp->l[j].type != RM_NL_SIGN) {
                rm_bnet_free(e);
                return rm_err(ctx, "layer %d (%s): a hidden binary layer must be followed by [bn] sign", i, nm);
            }
            s->sign_layer = j++;
        } else if (j != sp->n) {
            rm_bnet_free(e);
            return rm_err(ctx, "layer %d (%s): the last weight layer may only be followed by bn", i, nm);
        }
        if (l->type == RM_NL_CONV) {
            if (!sp_in) { rm_bnet_free(e); return rm_err(ctx, "layer %d (conv) on a flat input", i); }
            s->type = S_CONV; s->k = l->k; s->s = l->stride; s->pad = l->pad;
            s->ih = H; s->iw = W; s->ic = C; s->iwpp = (C + 63) / 64;
            s->kw = l->k * l->k * s->iwpp;
            H = (H + 2 * l->pad - l->k) / l->stride + 1; W = (W + 2 * l->pad - l->k) / l->stride + 1; C = rows;
            s->oh = H; s->ow = W; s->oc = C; s->owpp = (C + 63) / 64;
            words = (size_t)H * W * s->owpp;
            if (final) { rm_bnet_free(e); return rm_err(ctx, "layer %d (conv): the last weight layer must be linear", i); }
        } else {
            if (sp_in) { rm_bnet_free(e); return rm_err(ctx, "layer %d (linear) on an image (a flatten is missing)", i); }
            s->type = S_LINEAR;
            s->F = C; s->fwords = (C + 63) / 64; s->kw = s->fwords;
            C = rows;
            words = (size_t)(C + 63) / 64;
        }
        s->out_words = words;
        if (words > e->maxwords) e->maxwords = words;
        if (s->in_words > e->maxwords) e->maxwords = s->in_words;
        if (pack_weights(ctx, m, s, l, perm_h, perm_w, perm_c)) { rm_bnet_free(e); return RM_ERR; }
        perm_c = 0;
        int F = s->type == S_CONV ? s->k * s->k * s->ic : s->F;
        if (final) s->bias = bias;
        else if (fold_thresholds(ctx, m, s, F, bias, s->bn_layer)) { rm_bnet_free(e); return RM_ERR; }
        e->ns++;
        i = j;
    }
    rm_bnet_set_path(e, RM_BNN_AUTO);
    *out = e;
    return RM_OK;
}

void rm_bnet_free(rm_bnet *e) {
    if (!e) return;
    for (int i = 0; i < e->ns; i++) { free(e->st[i].w); free(e->st[i].thr); free(e->st[i].dir); }
    free(e->buf0); free(e->buf1); free(e->bnm); free(e->bny);
    free(e);
}

void rm_bnet_describe(const rm_bnet *e, char *buf, size_t n) {
    size_t bytes = 0;
    int nb = 0;
    for (int i = 0; i < e->ns; i++) if (e->st[i].w) { bytes += (size_t)e->st[i].rows * e->st[i].kw * 8; nb++; }
    snprintf(buf, n, "binary engine: float front of %d layers, %d XNOR-popcount layers (%zu bytes of packed weights), path %s",
             e->front, nb, bytes, rm_bnn_path_name(e->path));
}

/* ---- forward ------------------------------------------------------------------------------------ */

static void run_linear(const bstage *s, const uint64_t *in, uint64_t *out, float *logits, int B, int path) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const uint64_t *x = in + (size_t)b * s->in_words;
        if (logits) {
            float *z = logits + (size_t)b * s->rows;
            for (int o = 0; o < s->rows; o++) {
                int acc = s->F - 2 * popx(path, x, s->w + (size_t)o * s->kw, s->kw);
                z[o] = s->bias ? (float)acc + s->bias[o] : (float)acc;
            }
        } else {
            uint64_t *y = out + (size_t)b * s->out_words;
            memset(y, 0, sizeof(uint64_t) * s->out_words);
            for (int o = 0; o < s->rows; o++) {
                int acc = s->F - 2 * popx(path, x, s->w + (size_t)o * s->kw, s->kw);
                if (fire(s, o, acc)) y[o >> 6] |= 1ull << (o & 63);
            }
        }
    }
}

static void run_conv(const bstage *s, const uint64_t *in, uint64_t *out, int B, int path) {
    int wpp = s->iwpp, k = s->k;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < s->oh; oy++) {
            const uint64_t *x = in + (size_t)b * s->in_words;
            uint64_t patch[15 * 15 * 4];   /* k <= 15; wpp words per pixel; larger wpp goes pixel by pixel */
            for (int ox = 0; ox < s->ow; ox++) {
                uint64_t *y = out + (size_t)b * s->out_words + ((size_t)oy * s->ow + ox) * s->owpp;
                memset(y, 0, sizeof(uint64_t) * s->owpp);
                int valid = 0, full = 1;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                        if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) { full = 0; continue; }
                        valid++;
                    }
                if (full && wpp <= 4) {
                    /* interior: gather the patch once, one dot per filter */
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                            memcpy(patch + (size_t)(ky * k + kx) * wpp, x + ((size_t)iy * s->iw + ix) * wpp, sizeof(uint64_t) * wpp);
                        }
                    for (int o = 0; o < s->rows; o++) {
                        int acc = k * k * s->ic - 2 * popx(path, patch, s->w + (size_t)o * s->kw, s->kw);
                        if (fire(s, o, acc)) y[o >> 6] |= 1ull << (o & 63);
                    }
                } else {
                    for (int o = 0; o < s->rows; o++) {
                        const uint64_t *wr = s->w + (size_t)o * s->kw;
                        int pc = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s->s - s->pad + ky, ix = ox * s->s - s->pad + kx;
                                if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                                pc += popx(path, x + ((size_t)iy * s->iw + ix) * wpp, wr + (size_t)(ky * k + kx) * wpp, wpp);
                            }
                        int acc = valid * s->ic - 2 * pc;
                        if (fire(s, o, acc)) y[o >> 6] |= 1ull << (o & 63);
                    }
                }
            }
        }
}

static void run_pool(const bstage *s, const uint64_t *in, uint64_t *out, int B) {
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

/* NHWC map (H,W,C words per pixel) -> dense HWC bits */
static void run_flatten(const rm_bnet *e, const bstage *s, const bstage *prev_geom, const uint64_t *in, uint64_t *out, int B,
                        int H, int W, int C) {
    int wpp = (C + 63) / 64;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const uint64_t *x = in + (size_t)b * s->in_words;
        uint64_t *y = out + (size_t)b * s->out_words;
        memset(y, 0, sizeof(uint64_t) * s->out_words);
        for (int p = 0; p < H * W; p++)
            for (int c = 0; c < C; c++)
                if (x[(size_t)p * wpp + (c >> 6)] >> (c & 63) & 1) {
                    size_t bit = (size_t)p * C + c;
                    y[bit >> 6] |= 1ull << (bit & 63);
                }
    }
    (void)e; (void)prev_geom;
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
 * layer caches: the engine only reruns the front) */
static void compare_bits(const rm_bnet *e, const bstage *s, const uint64_t *bits, int B, rm_bnn_check *chk) {
    int c, h, w, sp;
    const float *fy = rm_net_output(e->m, s->sign_layer, &c, &h, &w, &sp);
    int wpp = (c + 63) / 64;
    long bad = 0;
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

static int engine_run(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits, rm_bnn_check *chk);
int rm_bnet_forward(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits) { return engine_run(ctx, e, x, B, logits, NULL); }

static int engine_run(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits, rm_bnn_check *chk) {
    if (ensure(ctx, e, B)) return RM_ERR;
    if (rm_net_forward_upto(ctx, e->m, x, B, 0, e->front)) return RM_ERR;
    int c, h, w, sp;
    const float *fy = rm_net_output(e->m, e->front - 1, &c, &h, &w, &sp);
    /* pack the front's +-1 output */
    size_t in_words = e->st[0].in_words;
    int wpp = (c + 63) / 64;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        uint64_t *y = e->buf0 + (size_t)b * in_words;
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
    uint64_t *cur = e->buf0, *nxt = e->buf1;
    int H = h, W = w, C = c;
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        switch (s->type) {
        case S_FLATTEN: run_flatten(e, s, NULL, cur, nxt, B, H, W, C); C = C * H * W; H = W = 1; break;
        case S_POOL: run_pool(s, cur, nxt, B); H = s->oh; W = s->ow; break;
        case S_CONV: run_conv(s, cur, nxt, B, e->path); H = s->oh; W = s->ow; C = s->oc; break;
        case S_LINEAR:
            if (i == e->ns - 1) {
                float *z = s->bn_layer >= 0 ? e->bny : logits;
                run_linear(s, cur, NULL, z, B, e->path);
                if (s->bn_layer >= 0) {
                    char nm[64];
                    float *g, *bb, *rmn, *rv;
                    snprintf(nm, sizeof nm, "layers.%d.weight", s->bn_layer); g = rm_model_tensor_data(e->m, nm, NULL);
                    snprintf(nm, sizeof nm, "layers.%d.bias", s->bn_layer); bb = rm_model_tensor_data(e->m, nm, NULL);
                    snprintf(nm, sizeof nm, "layers.%d.running_mean", s->bn_layer); rmn = rm_model_tensor_data(e->m, nm, NULL);
                    snprintf(nm, sizeof nm, "layers.%d.running_var", s->bn_layer); rv = rm_model_tensor_data(e->m, nm, NULL);
                    bn_forward(logits, e->bnm, e->bnm + e->K, z, g, bb, rmn, rv, B, e->K, 0, 0.1f, 1e-5f, 0, e->m->scratch);
                }
                return RM_OK;
            }
            run_linear(s, cur, nxt, NULL, B, e->path);
            C = s->rows; H = W = 1;
            break;
        }
        if (chk && s->sign_layer >= 0) compare_bits(e, s, nxt, B, chk);
        uint64_t *t = cur; cur = nxt; nxt = t;
    }
    return rm_err(ctx, "binary engine: no final linear layer");
}

/* ---- verification against the float forward -------------------------------------------------------- */

int rm_bnet_verify(rm_ctx *ctx, rm_bnet *e, const rm_dataset *ds, int batch, rm_bnn_check *out) {
    memset(out, 0, sizeof *out);
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
        /* the float forward first: the engine reruns only the front, so the float sign outputs of the
         * later layers stay in the caches for compare_bits */
        if (rm_model_forward(ctx, m, x, B, 0, RM_FULL)) goto done;
        memcpy(zf, m->c.logits, sizeof(float) * B * e->K);
        if (engine_run(ctx, e, x, B, ze, out)) goto done;
        for (int b = 0; b < B; b++) {
            int bf = 0, be = 0;
            for (int k = 1; k < e->K; k++) {
                if (zf[b * e->K + k] > zf[b * e->K + bf]) bf = k;
                if (ze[b * e->K + k] > ze[b * e->K + be]) be = k;
            }
            for (int k = 0; k < e->K; k++) {
                float d = fabsf(zf[b * e->K + k] - ze[b * e->K + k]);
                if (d > out->max_logit_err) out->max_logit_err = d;
            }
            out->agree += bf == be;
            out->correct += be == y[b];
        }
        out->n += B;
    }
    st = RM_OK;
done:
    free(x); free(zf); free(ze); free(y); free(idx);
    return st;
}
