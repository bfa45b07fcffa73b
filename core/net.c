/* net.c - layer-list networks inside an rm_model: tensor table, caches, and forward/backward of each layer
 * (linear, conv via im2col + rm_gemm, maxpool, flatten, BN1d/2d, dropout, ReLU, HardTanh, sign with STE /
 * ReSTE, the learned curves, n-bit activation quantisation) with the weight quantisers. Spatial tensors
 * are NHWC (B,H,W,C); flat ones (B,F). See net.h for the text form and layouts. im2col columns are in
 * (ky,kx,c) order (contiguous copies of NHWC rows); the weights are permuted to match once per forward.
 * Under precision bf16 (rm_gemm_set_precision) every product runs in bf16 with fp32 accumulation and fp32
 * master weights: conv columns are written in bf16 directly and, when they fit, kept for the backward;
 * weight gradients run in bf16 too (rm_gemm_bf16). Elementwise work (BN, activations) stays fp32. */
#include "net.h"
#include "model.h"
#include "layers.h"
#include "gemm.h"
#include "bf16.h"
#include "prof.h"
#include <math.h>
#include <stdint.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct nl_rt {
    int ic, ih, iw, oc, oh, ow;   /* input and output shapes (c,h,w); flat: h = w = 1 */
    int in_sp, out_sp;            /* layout of input / output: 1 = NHWC, 0 = flat */
    size_t in_n, out_n;           /* floats per sample */
    int rows, fan;                /* weights (rows, fan) for linear/conv */
    float *w, *b, *gw, *gb;       /* parameters (views into the model's allocation) */
    float *rm, *rv;               /* BN running stats */
    float *ap, *gap, *work;       /* curve parameters, their grads, work area */
    float *wq, *alpha;            /* quantised weights (own), TWN scales */
    float *wt;                    /* ternary: the codes -1/0/+1 the forward's product uses (wq = alpha*wt) */
    size_t coloff;                /* conv: offset of its bf16 columns in col's memory (x B, in bf16 units) */
    float *wp, *wtp;              /* conv: the used weights (and ternary codes) with columns in im2col's
                                   * (ky,kx,c) order, permuted from PyTorch's (c,ky,kx) once per forward */
    float *y, *mean, *rstd, *mask;/* cache: output (B,out_n), BN stats, dropout mask */
    int *arg;                     /* maxpool argmax (B,out_n) */
} nl_rt;

struct rm_net {
    rm_net_spec s;
    nl_rt l[RM_NET_MAXL];
    int in_nhwc;                  /* input transposed to NHWC */
    size_t maxn, maxcol;          /* largest per-sample tensor; largest im2col row count x width per sample */
    float *xin, *col, *dcol, *d0, *d1, *dlogits, *u;
    float *gtmp;                  /* conv weight gradient in (ky,kx,c) column order, before it is permuted */
    size_t sumcol;                /* sum over conv layers of their im2col row count x width per sample */
    int colcache;                 /* bf16: every conv's columns fit in col's memory side by side, so the
                                   * forward's columns serve the backward (no second im2col); set per forward */
    float *cache, *qmem;
    uint64_t seed, step;          /* draws of dropout / stochastic rounding depend on (seed, backward count) */
    int act_ready;
};

/* ---- construction ------------------------------------------------------------------------------ */

typedef struct { rm_model *m; int pass, nt, nb; size_t off, boff; } tb;

static float *tadd(tb *t, int is_buf, int group, int block, int ndim, int64_t d0, int64_t d1, float **grad,
                   const char *suffix, int fdim, const int64_t *fshape) {
    size_t n = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    float *p = NULL;
    if (t->pass) {
        rm_ptensor *x = is_buf ? &t->m->buftensors[t->nb] : &t->m->tensors[t->nt];
        snprintf(x->name, sizeof x->name, "layers.%d.%s", block, suffix);
        x->ndim = ndim; x->shape[0] = d0; x->shape[1] = ndim > 1 ? d1 : 0;
        x->off = is_buf ? t->boff : t->off; x->n = n; x->group = group; x->block = block; x->frozen = 0;
        x->fdim = fdim;
        for (int i = 0; i < fdim; i++) x->fshape[i] = fshape[i];
        p = (is_buf ? t->m->bmem : t->m->mem) + x->off;
        if (grad) *grad = is_buf ? NULL : t->m->gmem + x->off;
    }
    if (is_buf) { t->boff += n; t->nb++; } else { t->off += n; t->nt++; }
    return p;
}

static void build_table(tb *t, struct rm_net *net) {
    for (int i = 0; i < net->s.n; i++) {
        const rm_nlayer_spec *sp = &net->s.l[i];
        nl_rt *L = &net->l[i];
        if (sp->type == RM_NL_LINEAR || sp->type == RM_NL_CONV) {
            int64_t fs[4] = {sp->out, L->ic, sp->k, sp->k};
            L->w = tadd(t, 0, RM_GROUP_MAIN, i, 2, L->rows, L->fan, &L->gw, "weight", sp->type == RM_NL_CONV ? 4 : 0, fs);
            if (sp->bias) L->b = tadd(t, 0, RM_GROUP_MAIN, i, 1, L->rows, 0, &L->gb, "bias", 0, NULL);
        } else if (sp->type == RM_NL_BN) {
            int C = L->in_sp ? L->ic : (int)L->in_n;
            L->w = tadd(t, 0, RM_GROUP_MAIN, i, 1, C, 0, &L->gw, "weight", 0, NULL);
            L->b = tadd(t, 0, RM_GROUP_MAIN, i, 1, C, 0, &L->gb, "bias", 0, NULL);
            L->rm = tadd(t, 1, 0, i, 1, C, 0, NULL, "running_mean", 0, NULL);
            L->rv = tadd(t, 1, 0, i, 1, C, 0, NULL, "running_var", 0, NULL);
        } else if (sp->type == RM_NL_CURVE) {
            int C = L->in_sp ? L->ic : (int)L->in_n;
            int nt = rm_act_ntensors(&sp->act);
            for (int k = 0; k < nt; k++) {
                const char *suf; int nd; int64_t sh[2]; size_t off;
                rm_act_tensor(&sp->act, C, k, &suf, &nd, sh, &off);
                float *g = NULL, *p = tadd(t, 0, RM_GROUP_ACT, i, nd, sh[0], sh[1], &g, suf, 0, NULL);
                if (k == 0) { L->ap = p; L->gap = g; }
            }
        }
    }
}

static void uinit(float *w, size_t n, float bound, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) w[i] = (2 * rm_rng_uniform(rng) - 1) * bound;
}

int rm_net_build(rm_ctx *ctx, rm_model *m, const rm_net_spec *spec, uint64_t seed) {
    struct rm_net *net = calloc(1, sizeof *net);
    if (!net) return rm_err(ctx, "out of memory allocating the network");
    m->net = net;
    net->s = *spec;
    int outs[RM_NET_MAXL][3];
    if (rm_net_shapes(ctx, &net->s, outs)) return RM_ERR;
    int c = spec->in_c, h = spec->in_h, w = spec->in_w;
    net->in_nhwc = h * w > 1 && net->s.l[0].type != RM_NL_FLATTEN;
    int sp = net->in_nhwc;
    net->maxn = (size_t)c * h * w;
    size_t nq = 0, nrow = 0, nu = 0, ngt = 0;
    for (int i = 0; i < net->s.n; i++) {
        const rm_nlayer_spec *s = &net->s.l[i];
        nl_rt *L = &net->l[i];
        L->ic = c; L->ih = h; L->iw = w; L->in_sp = sp; L->in_n = (size_t)c * h * w;
        c = outs[i][0]; h = outs[i][1]; w = outs[i][2];
        if (s->type == RM_NL_FLATTEN || s->type == RM_NL_LINEAR) sp = 0;
        if (s->type == RM_NL_CONV) sp = 1;
        L->oc = c; L->oh = h; L->ow = w; L->out_sp = sp; L->out_n = (size_t)c * h * w;
        if (L->out_n > net->maxn) net->maxn = L->out_n;
        if (s->type == RM_NL_LINEAR) { L->rows = s->out; L->fan = (int)L->in_n; }
        if (s->type == RM_NL_CONV) {
            L->rows = s->out; L->fan = L->ic * s->k * s->k;
            size_t cs = (size_t)L->oh * L->ow * L->fan;
            if (cs > net->maxcol) net->maxcol = cs;
            L->coloff = net->sumcol;
            net->sumcol += cs;
        }
        if (s->type == RM_NL_CONV) {
            size_t nw = (size_t)L->rows * L->fan;
            nq += nw * (s->wq == RM_WQ_TERNARY ? 2 : 1);
            if (nw > ngt) ngt = nw;
        }
        if ((s->type == RM_NL_LINEAR || s->type == RM_NL_CONV) && s->wq != RM_WQ_FLOAT) {
            nq += (size_t)L->rows * L->fan * (s->wq == RM_WQ_TERNARY ? 2 : 1);
            nrow += (size_t)L->rows;
            if (s->stochastic && (size_t)L->rows * L->fan > nu) nu = (size_t)L->rows * L->fan;
        }
    }
    m->cfg.K = c; m->cfg.T = 1; m->cfg.P = (int)((size_t)spec->in_c * spec->in_h * spec->in_w);
    m->cfg.L = 0; m->cfg.H = 0; m->cfg.D = 0; m->cfg.patch = 0;
    m->cfg.act = rm_act_default(RM_ACT_RELU);
    tb t = {.m = m};
    build_table(&t, net);
    m->ntensors = t.nt; m->nbuftensors = t.nb; m->nparams = t.off; m->nbufs = t.boff;
    m->tensors = calloc(t.nt ? t.nt : 1, sizeof(rm_ptensor));
    m->buftensors = calloc(t.nb ? t.nb : 1, sizeof(rm_ptensor));
    m->mem = rm_calloc(ctx, (m->nparams + 1) * sizeof(float), "parameters");
    m->gmem = m->mem ? rm_calloc(ctx, (m->nparams + 1) * sizeof(float), "gradients") : NULL;
    m->bmem = m->gmem ? rm_calloc(ctx, (m->nbufs + 1) * sizeof(float), "BN buffers") : NULL;
    m->scratch = m->bmem ? rm_malloc(ctx, RM_RSCRATCH * sizeof(double), "reduction scratch") : NULL;
    net->qmem = m->scratch ? rm_calloc(ctx, (nq + nrow + nu + ngt + 1) * sizeof(float), "quantised weights") : NULL;
    if (!m->tensors || !m->buftensors || !net->qmem) {
        if (!m->tensors || !m->buftensors) rm_err(ctx, "out of memory allocating tensor tables");
        return RM_ERR;
    }
    t = (tb){.m = m, .pass = 1};
    build_table(&t, net);
    float *q = net->qmem;
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    uint64_t rng = seed ? seed : 2023;
    net->seed = rng;
    for (int i = 0; i < net->s.n; i++) {
        const rm_nlayer_spec *s = &net->s.l[i];
        nl_rt *L = &net->l[i];
        if (s->type == RM_NL_LINEAR || s->type == RM_NL_CONV) {
            float bound = 1 / sqrtf((float)L->fan);      /* PyTorch's default U(+-1/sqrt(fan_in)) */
            uinit(L->w, (size_t)L->rows * L->fan, bound, &rng);
            if (L->b) uinit(L->b, L->rows, bound, &rng);
            if (s->wq != RM_WQ_FLOAT) {
                L->wq = q; q += (size_t)L->rows * L->fan;
                L->alpha = q; q += L->rows;
                if (s->wq == RM_WQ_TERNARY) { L->wt = q; q += (size_t)L->rows * L->fan; }
            }
            if (s->type == RM_NL_CONV) {
                L->wp = q; q += (size_t)L->rows * L->fan;
                if (s->wq == RM_WQ_TERNARY) { L->wtp = q; q += (size_t)L->rows * L->fan; }
            }
        } else if (s->type == RM_NL_BN) {
            int C = L->in_sp ? L->ic : (int)L->in_n;
            for (int k = 0; k < C; k++) { L->w[k] = 1; L->rv[k] = 1; }
        } else if (s->type == RM_NL_CURVE) {
            int C = L->in_sp ? L->ic : (int)L->in_n;
            rm_act_init(&s->act, C, L->ap, &rng);
            size_t ws = rm_act_worksize(&s->act, C, nth < 64 ? 64 : nth);
            if (ws && !(L->work = rm_calloc(ctx, ws * sizeof(float), "activation work area"))) return RM_ERR;
        }
    }
    net->u = nu ? q : NULL;
    q += nu;
    net->gtmp = ngt ? q : NULL;
    rm_net_params_changed(m);
    return RM_OK;
}

const rm_net_spec *rm_net_spec_of(const rm_model *m) { return m->net ? &m->net->s : NULL; }

void rm_net_free(rm_model *m) {
    struct rm_net *net = m->net;
    if (!net) return;
    for (int i = 0; i < net->s.n; i++) free(net->l[i].work);
    free(net->cache); free(net->qmem);
    free(net);
    m->net = NULL;
}

int rm_net_set_batch(rm_ctx *ctx, rm_model *m, int B) {
    struct rm_net *net = m->net;
    if (B < 1) return rm_err(ctx, "batch size %d must be >= 1", B);
    if (B <= m->Bcap && net->cache) { m->B = B; return RM_OK; }
    size_t total = (size_t)B * m->cfg.P + 2 * (size_t)B * net->maxcol + 3 * (size_t)B * net->maxn;
    for (int i = 0; i < net->s.n; i++) {
        const nl_rt *L = &net->l[i];
        int t = net->s.l[i].type;
        total += (size_t)B * L->out_n;
        if (t == RM_NL_BN) total += 2 * (size_t)(L->in_sp ? L->ic : (int)L->in_n);
        if (t == RM_NL_MAXPOOL || t == RM_NL_DROPOUT) total += (size_t)B * L->out_n;
    }
    float *mem = rm_malloc(ctx, total * sizeof(float), "activation cache");
    if (!mem) return rm_errprefix(ctx, "batch %d", B);
    free(net->cache);
    net->cache = mem;
    m->B = m->Bcap = B;
    float *q = mem;
#define TAKE(n) (q += (n), q - (n))
    net->xin = TAKE((size_t)B * m->cfg.P);
    net->col = TAKE((size_t)B * net->maxcol); net->dcol = TAKE((size_t)B * net->maxcol);
    net->d0 = TAKE((size_t)B * net->maxn); net->d1 = TAKE((size_t)B * net->maxn);
    net->dlogits = TAKE((size_t)B * net->maxn);
    for (int i = 0; i < net->s.n; i++) {
        nl_rt *L = &net->l[i];
        int t = net->s.l[i].type;
        L->y = TAKE((size_t)B * L->out_n);
        if (t == RM_NL_BN) { int C = L->in_sp ? L->ic : (int)L->in_n; L->mean = TAKE(C); L->rstd = TAKE(C); }
        if (t == RM_NL_MAXPOOL) L->arg = (int *)TAKE((size_t)B * L->out_n);
        if (t == RM_NL_DROPOUT) L->mask = TAKE((size_t)B * L->out_n);
    }
#undef TAKE
    m->c.logits = net->l[net->s.n - 1].y;
    m->c.dlogits = net->dlogits;
    return RM_OK;
}

void rm_net_params_changed(rm_model *m) {
    struct rm_net *net = m->net;
    net->act_ready = 0;
    for (int i = 0; i < net->s.n; i++)
        if (net->s.l[i].wq == RM_WQ_BINARY && (net->s.l[i].type == RM_NL_LINEAR || net->s.l[i].type == RM_NL_CONV)) {
            nl_rt *L = &net->l[i];
            size_t n = (size_t)L->rows * L->fan;
            float *w = L->w;
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (size_t j = 0; j < n; j++) { float v = w[j] > -1 ? w[j] : -1; w[j] = v < 1 ? v : 1; }   /* NaN -> -1, as fmaxf */
        }
}

float rm_net_regular(rm_model *m, float lambda, int grad) {
    struct rm_net *net = m->net;
    float s = 0;
    if (lambda == 0) return 0;
    for (int i = 0; i < net->s.n; i++) {
        const rm_nlayer_spec *sp = &net->s.l[i];
        const nl_rt *L = &net->l[i];
        if (sp->type == RM_NL_CURVE && sp->act.kind == RM_ACT_BSPLINE)
            s += rm_act_regular(&sp->act, L->in_sp ? L->ic : (int)L->in_n, L->ap, grad ? L->gap : NULL, lambda);
    }
    return s;
}

/* ---- kernels ------------------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline float u01(uint64_t key, size_t j) { return (float)(mix64(key ^ mix64(j)) >> 40) * (1.0f / 16777216.0f); }

// x is (B, C*H*W) CHW; y is (B, H*W*C) NHWC (and back when to_chw)
static void transpose_chw(float *y, const float *x, int B, int C, int HW, int to_chw) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * C * HW;
        float *yb = y + (size_t)b * C * HW;
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++) {
                if (to_chw) yb[(size_t)c * HW + p] = xb[(size_t)p * C + c];
                else yb[(size_t)p * C + c] = xb[(size_t)c * HW + p];
            }
    }
}

/* conv columns are in (ky,kx,c) order so each kernel row copies k*C contiguous floats of the NHWC input;
 * the weights are permuted to match (PyTorch's (OC,IC,kh,kw) order stays the stored one) */
// w is (OC, C*k*k) in (c,ky,kx) order; wp is (OC, k*k*C) in (ky,kx,c) order
static void perm_to_kkc(float *wp, const float *w, int OC, int C, int k) {
    int kk = k * k, F = C * kk;
#pragma omp parallel for schedule(static) if ((long)OC * F > 65536)
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < kk; j++) wp[(size_t)o * F + (size_t)j * C + c] = w[(size_t)o * F + (size_t)c * kk + j];
}
// g (OC, C*k*k) in (c,ky,kx) order += gp (OC, k*k*C) in (ky,kx,c) order
static void add_from_kkc(float *g, const float *gp, int OC, int C, int k) {
    int kk = k * k, F = C * kk;
#pragma omp parallel for schedule(static) if ((long)OC * F > 65536)
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < kk; j++) g[(size_t)o * F + (size_t)c * kk + j] += gp[(size_t)o * F + (size_t)j * C + c];
}

// n input floats -> n column entries: fp32 copied, or bf16 rounded to nearest even
static inline void col_copy(void *dst, const float *src, size_t n, int bf16, int hw) {
#ifdef __x86_64__
    if (bf16 && hw) { rm_bf16_row_hw(src, dst, n); return; }
#endif
    if (bf16) rm_bf16_convert(src, dst, n);
    else memcpy(dst, src, sizeof(float) * n);
}

// x is (B,H,W,C) NHWC; col is (B*OH*OW, k*k*C), column (ky*k + kx)*C + c, fp32 or (bf16) uint16 bf16 for a
// bf16 product; zeros where the kernel is off the image
static void im2col_any(void *col, int bf16, const float *x, int B, int H, int W, int C, int k, int s, int pad, int OH, int OW) {
    size_t F = (size_t)C * k * k, kC = (size_t)k * C, es = bf16 ? sizeof(uint16_t) : sizeof(float);
    int hw = bf16 && rm_gemm_cpu_isa() >= RM_ISA_AVX512_BF16;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                char *cr = (char *)col + (((size_t)b * OH + oy) * OW + ox) * F * es;
                int ix0 = ox * s - pad;
                for (int ky = 0; ky < k; ky++, cr += kC * es) {
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= H) { memset(cr, 0, es * kC); continue; }
                    const float *xr = x + ((size_t)b * H + iy) * W * C;
                    if (ix0 >= 0 && ix0 + k <= W) { col_copy(cr, xr + (size_t)ix0 * C, kC, bf16, hw); continue; }
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ix0 + kx;
                        if (ix < 0 || ix >= W) memset(cr + (size_t)kx * C * es, 0, es * C);
                        else col_copy(cr + (size_t)kx * C * es, xr + (size_t)ix * C, C, bf16, hw);
                    }
                }
            }
}
static void im2col(float *col, const float *x, int B, int H, int W, int C, int k, int s, int pad, int OH, int OW) {
    im2col_any(col, 0, x, B, H, W, C, k, s, pad, OH, OW);
}
static void im2col_bf16(uint16_t *col, const float *x, int B, int H, int W, int C, int k, int s, int pad, int OH, int OW) {
    im2col_any(col, 1, x, B, H, W, C, k, s, pad, OH, OW);
}

// dcol (B*OH*OW, k*k*C) -> dx (B,H,W,C) (overwritten): the adjoint of im2col; parallel over images
static void col2im(float *dx, const float *dcol, int B, int H, int W, int C, int k, int s, int pad, int OH, int OW) {
    size_t F = (size_t)C * k * k;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *xb = dx + (size_t)b * H * W * C;
        memset(xb, 0, sizeof(float) * (size_t)H * W * C);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *cr = dcol + (((size_t)b * OH + oy) * OW + ox) * F;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= H) continue;
                    int ix0 = ox * s - pad, kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + k > W ? W - ix0 : k;
                    if (kx1 <= kx0) continue;
                    /* the kernel row's in-image part: (kx1-kx0)*C contiguous floats on both sides */
                    float *xp = xb + ((size_t)iy * W + ix0 + kx0) * C;
                    const float *cc = cr + ((size_t)ky * k + kx0) * C;
                    size_t len = (size_t)(kx1 - kx0) * C;
#pragma omp simd
                    for (size_t j = 0; j < len; j++) xp[j] += cc[j];
                }
            }
    }
}

// x is (B,H,W,C); y is (B,OH,OW,C); arg holds the input offset (within the sample) of each maximum (the
// first one in (ky,kx) order on ties); vectorised over channels
static void maxpool_fwd(float *y, int *arg, const float *x, int B, int H, int W, int C, int k, int s, int OH, int OW) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *xb = x + (size_t)b * H * W * C;
                size_t oi = (((size_t)b * OH + oy) * OW + ox) * C;
                float *yo = y + oi;
                int *ao = arg + oi;
                int o0 = ((oy * s) * W + ox * s) * C;
#pragma omp simd
                for (int c = 0; c < C; c++) { yo[c] = xb[o0 + c]; ao[c] = o0 + c; }
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        if (!ky && !kx) continue;
                        int o = ((oy * s + ky) * W + ox * s + kx) * C;
#pragma omp simd
                        for (int c = 0; c < C; c++)
                            if (xb[o + c] > yo[c]) { yo[c] = xb[o + c]; ao[c] = o + c; }
                    }
            }
}

/* the weights the forward uses: latent floats or their quantised copy */
static const float *weights_fwd(struct rm_net *net, int i, int train) {
    const rm_nlayer_spec *s = &net->s.l[i];
    nl_rt *L = &net->l[i];
    size_t n = (size_t)L->rows * L->fan;
    switch (s->wq) {
    case RM_WQ_BINARY:
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t j = 0; j < n; j++) L->wq[j] = L->w[j] >= 0 ? 1.0f : -1.0f;
        return L->wq;
    case RM_WQ_TERNARY:
        rm_quant_ternary(L->wq, L->alpha, L->w, L->rows, L->fan);
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t j = 0; j < n; j++) L->wt[j] = L->wq[j] > 0 ? 1.0f : L->wq[j] < 0 ? -1.0f : 0.0f;
        return L->wq;
    case RM_WQ_INT: {
        const float *u = NULL;
        if (train && s->stochastic) {
            uint64_t key = mix64(net->seed ^ (net->step * 0x100000001B3ull) ^ ((uint64_t)i << 48));
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t j = 0; j < n; j++) net->u[j] = u01(key, j);
            u = net->u;
        }
        rm_quant_fixed(L->wq, L->w, n, s->wbits, u);
        return L->wq;
    }
    default: return L->w;
    }
}

const float *rm_net_weights_used(const rm_model *m, int i, int *rows, int *cols) {
    const struct rm_net *net = m->net;
    if (!net || i < 0 || i >= net->s.n) return NULL;
    const nl_rt *L = &net->l[i];
    if (net->s.l[i].type != RM_NL_LINEAR && net->s.l[i].type != RM_NL_CONV) return NULL;
    if (rows) *rows = L->rows;
    if (cols) *cols = L->fan;
    return L->wq ? L->wq : L->w;
}

/* quantised weight layers: the product first (binary / ternary codes / fixed point times +-1 or fixed-point
 * inputs: every partial sum is an exact multiple of a power of two while it stays below 2^24 units, so
 * the order of the sum does not matter), then the ternary scale and the bias one by one (rm_net_post), so
 * the integer engine (bnn.c) reproduces every output bit from the integer accumulator. */
// x is (N,IC), w is (OC,IC) codes, alpha (OC) or NULL, b (OC) or NULL; y is (N,OC)
static void qlinear_forward(float *y, const float *x, const float *w, const float *alpha, const float *b, int N, int IC, int OC) {
    rm_gemm(0, 1, N, OC, IC, 1.0f, x, IC, w, IC, 0.0f, y, OC);
    if (!alpha && !b) return;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int o = 0; o < OC; o++) y[(size_t)r * OC + o] = rm_net_post(y[(size_t)r * OC + o], alpha, b, o);
}

/* bf16 products (precision bf16 on a CPU with bf16 units): conv columns arrive in bf16; the weight
 * gradient dy^T x runs in bf16 too (rm_gemm keeps transA products in fp32). Quantised layers keep the
 * order: product, then scale and bias one rounding each, as qlinear_forward. */
// col is (N,F) bf16, w is (OC,F) fp32; y is (N,OC)
static void conv_bf16_forward(float *y, const uint16_t *col, const float *w, const float *alpha, const float *b,
                              int N, int F, int OC, int quantised) {
    if (!quantised && b) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++) memcpy(y + (size_t)r * OC, b, sizeof(float) * OC);
    }
    rm_gemm_bf16(0, 1, N, OC, F, 1.0f, col, 1, F, w, 0, F, !quantised && b ? 1.0f : 0.0f, y, OC);
    if (!quantised || (!alpha && !b)) return;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int o = 0; o < OC; o++) y[(size_t)r * OC + o] = rm_net_post(y[(size_t)r * OC + o], alpha, b, o);
}

// as linear_backward with the weight gradient in bf16: dw (OC,IC) += dy^T x; db += colsum(dy); dx = dy w
static void linear_backward_bf16(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                 int N, int IC, int OC, double *scratch) {
    rm_gemm_bf16(1, 0, OC, IC, N, 1.0f, dy, 0, OC, x, 0, IC, 1.0f, dw, IC);
    linear_backward(dx, NULL, db, dy, NULL, w, N, IC, OC, scratch);
}

/* fixed-point activation quantiser: f = bits-1-ceil(log2 range) fractional bits */
static float quant_scale(const rm_nlayer_spec *s, float *lo, float *hi) {
    int f = s->bits - 1 - (int)ceilf(log2f(s->range));
    *lo = -ldexpf(1, s->bits - 1); *hi = ldexpf(1, s->bits - 1) - 1;
    return ldexpf(1, f);
}

/* ---- forward / backward ------------------------------------------------------------------------- */

static int has_params(int type) {
    return type == RM_NL_LINEAR || type == RM_NL_CONV || type == RM_NL_BN || type == RM_NL_CURVE;
}

/* profile category of a layer without weights (prof.h) */
static int prof_cat(int type) {
    switch (type) {
    case RM_NL_MAXPOOL: return RM_PROF_POOL;
    case RM_NL_FLATTEN: case RM_NL_DROPOUT: return RM_PROF_COPY;
    case RM_NL_BN: return RM_PROF_BN;
    default: return RM_PROF_ACT;
    }
}

int rm_net_forward(rm_ctx *ctx, rm_model *m, const float *x, int B, int train) {
    return rm_net_forward_upto(ctx, m, x, B, train, m->net->s.n);
}

const float *rm_net_output(const rm_model *m, int i, int *c, int *h, int *w, int *spatial) {
    const struct rm_net *net = m->net;
    if (!net || i < 0 || i >= net->s.n) return NULL;
    const nl_rt *L = &net->l[i];
    if (c) *c = L->oc;
    if (h) *h = L->oh;
    if (w) *w = L->ow;
    if (spatial) *spatial = L->out_sp;
    return L->y;
}

int rm_net_forward_upto(rm_ctx *ctx, rm_model *m, const float *x, int B, int train, int nlayers) {
    if (rm_net_set_batch(ctx, m, B)) return RM_ERR;
    struct rm_net *net = m->net;
    const float *in = x;
    if (net->in_nhwc) {
        RM_PROF(RM_PROF_COPY, transpose_chw(net->xin, x, B, net->s.in_c, net->s.in_h * net->s.in_w, 0));
        in = net->xin;
    }
    if (nlayers > net->s.n) nlayers = net->s.n;
    int bf16 = rm_gemm_precision() == RM_PREC_BF16 && rm_gemm_has_bf16();
    net->colcache = bf16 && net->sumcol <= 2 * net->maxcol;   /* col holds B*maxcol floats = 2*B*maxcol bf16 */
    for (int i = 0; i < nlayers; i++) {
        const rm_nlayer_spec *s = &net->s.l[i];
        nl_rt *L = &net->l[i];
        float *y = L->y;
        size_t n = (size_t)B * L->out_n;
        int C = L->in_sp ? L->ic : (int)L->in_n, N = L->in_sp ? B * L->ih * L->iw : B;
        double tl = rm_prof_begin();
        switch (s->type) {
        case RM_NL_LINEAR:
        case RM_NL_CONV: {
            const float *wf, *xin = in;
            RM_PROF(RM_PROF_WQ, wf = weights_fwd(net, i, train));
            const float *wc = s->wq == RM_WQ_TERNARY ? L->wt : wf;   /* what the product multiplies */
            int rows = B;
            if (s->type == RM_NL_CONV) {
                double tq = rm_prof_begin();
                perm_to_kkc(L->wp, wf, L->rows, L->ic, s->k);
                if (L->wtp) perm_to_kkc(L->wtp, L->wt, L->rows, L->ic, s->k);
                wc = L->wtp ? L->wtp : L->wp;
                rm_prof_end(RM_PROF_WQ, tq);
                rows = B * L->oh * L->ow;
                if (bf16) {   /* columns written in bf16 directly (in col's memory), the product in bf16 */
                    uint16_t *colh = (uint16_t *)net->col + (net->colcache ? (size_t)B * L->coloff : 0);
                    RM_PROF(RM_PROF_IM2COL, im2col_bf16(colh, in, B, L->ih, L->iw, L->ic, s->k, s->stride, s->pad, L->oh, L->ow));
                    double tg = rm_prof_begin();
                    conv_bf16_forward(y, colh, wc, s->wq == RM_WQ_TERNARY ? L->alpha : NULL, L->b, rows, L->fan, L->rows, s->wq != RM_WQ_FLOAT);
                    rm_prof_end(RM_PROF_GEMM, tg);
                    break;
                }
                RM_PROF(RM_PROF_IM2COL, im2col(net->col, in, B, L->ih, L->iw, L->ic, s->k, s->stride, s->pad, L->oh, L->ow));
                xin = net->col;
            }
            double tg = rm_prof_begin();
            if (s->wq == RM_WQ_FLOAT) linear_forward(y, xin, wc, L->b, rows, L->fan, L->rows);
            else qlinear_forward(y, xin, wc, s->wq == RM_WQ_TERNARY ? L->alpha : NULL, L->b, rows, L->fan, L->rows);
            rm_prof_end(RM_PROF_GEMM, tg);
            break;
        }
        case RM_NL_MAXPOOL:
            maxpool_fwd(y, L->arg, in, B, L->ih, L->iw, L->ic, s->k, s->stride, L->oh, L->ow);
            break;
        case RM_NL_FLATTEN:
            if (L->in_sp) transpose_chw(y, in, B, L->ic, L->ih * L->iw, 1);
            else memcpy(y, in, sizeof(float) * n);
            break;
        case RM_NL_BN:
            bn_forward(y, L->mean, L->rstd, in, L->w, L->b, L->rm, L->rv, N, C, train, 0.1f, 1e-5f, 0, m->scratch);
            break;
        case RM_NL_DROPOUT:
            if (train && s->p > 0) {
                uint64_t key = mix64(net->seed ^ (net->step * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i << 52) ^ 0xD0);
                float keep = 1 / (1 - s->p);
#pragma omp parallel for simd schedule(static)
                for (size_t j = 0; j < n; j++) { L->mask[j] = u01(key, j) >= s->p ? keep : 0; y[j] = in[j] * L->mask[j]; }
            } else memcpy(y, in, sizeof(float) * n);
            break;
        case RM_NL_RELU:
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) y[j] = in[j] > 0 ? in[j] : 0;
            break;
        case RM_NL_HARDTANH:
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) { float v = in[j] > -1 ? in[j] : -1; y[j] = v < 1 ? v : 1; }   /* NaN -> -1, as fmaxf */
            break;
        case RM_NL_SIGN:
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) y[j] = in[j] >= 0 ? 1.0f : -1.0f;
            break;
        case RM_NL_TERNARY: {   // y in {-1, 0, 1}: 0 where |x| <= delta
            float d = s->delta;
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) y[j] = in[j] > d ? 1.0f : in[j] < -d ? -1.0f : 0.0f;
            break;
        }
        case RM_NL_CURVE:
            if (!net->act_ready) rm_act_prepare(&s->act, C, L->ap, L->work);
            rm_act_forward(&s->act, C, L->ap, L->work, in, y, N);
            break;
        case RM_NL_QUANT: {
            float lo, hi, sc = quant_scale(s, &lo, &hi), inv = 1 / sc;
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) {   /* rintf = nearbyintf here (round to nearest even); vectorises */
                float v = rintf(in[j] * sc);
                v = v > lo ? v : lo;    /* NaN -> lo, as fmaxf */
                v = v < hi ? v : hi;
                y[j] = v * inv;
            }
            break;
        }
        }
        if (s->type != RM_NL_LINEAR && s->type != RM_NL_CONV) rm_prof_end(prof_cat(s->type), tl);
        in = y;
    }
    if (nlayers < net->s.n) return RM_OK;   /* later curve tables stay unprepared: act_ready unchanged */
    net->act_ready = 1;
    const float *z = m->c.logits;
    for (size_t j = 0; j < (size_t)B * m->cfg.K; j++)
        if (!isfinite(z[j])) return rm_err(ctx, "forward: non-finite logit at sample %d", (int)(j / m->cfg.K));
    return RM_OK;
}

void rm_net_backward(rm_model *m, const float *x, const float *dlogits) {
    struct rm_net *net = m->net;
    int B = m->B;
    int bf16 = rm_gemm_precision() == RM_PREC_BF16 && rm_gemm_has_bf16();
    const float *dout = dlogits;
    /* layers below the first one with parameters need no gradient: the backward stops there, and that
     * layer computes no input gradient (e.g. CNV's first conv after the input quantiser: no col2im) */
    int lo = 0;
    while (lo < net->s.n - 1 && !has_params(net->s.l[lo].type)) lo++;
    for (int i = net->s.n - 1; i >= lo; i--) {
        const rm_nlayer_spec *s = &net->s.l[i];
        nl_rt *L = &net->l[i];
        const float *in = i ? net->l[i - 1].y : net->in_nhwc ? net->xin : x;
        float *din = dout == net->d0 ? net->d1 : net->d0;
        size_t n = (size_t)B * L->out_n;   /* = B * in_n for elementwise layers */
        int C = L->in_sp ? L->ic : (int)L->in_n, N = L->in_sp ? B * L->ih * L->iw : B;
        const float *wq = L->wq ? L->wq : L->w;
        double tl = rm_prof_begin();
        switch (s->type) {
        case RM_NL_LINEAR:
            (bf16 ? linear_backward_bf16 : linear_backward)(i > lo ? din : NULL, L->gw, L->gb, dout, in, wq, B, L->fan, L->rows, m->scratch);
            break;
        case RM_NL_CONV: {   // dout is (N,OC), col (N,F) and wp (OC,F) in (ky,kx,c) order: gtmp = dout^T col, dcol = dout wp
            int Nr = B * L->oh * L->ow;
            uint16_t *colh = (uint16_t *)net->col;
            if (bf16 && net->colcache) colh += (size_t)B * L->coloff;   /* the forward's columns */
            else if (bf16) RM_PROF(RM_PROF_IM2COL, im2col_bf16(colh, in, B, L->ih, L->iw, L->ic, s->k, s->stride, s->pad, L->oh, L->ow));
            else RM_PROF(RM_PROF_IM2COL, im2col(net->col, in, B, L->ih, L->iw, L->ic, s->k, s->stride, s->pad, L->oh, L->ow));
            tl = rm_prof_begin();
            if (bf16) rm_gemm_bf16(1, 0, L->rows, L->fan, Nr, 1.0f, dout, 0, L->rows, colh, 1, L->fan, 0.0f, net->gtmp, L->fan);
            else rm_gemm(1, 0, L->rows, L->fan, Nr, 1.0f, dout, L->rows, net->col, L->fan, 0.0f, net->gtmp, L->fan);
            if (L->gb) linear_backward(NULL, NULL, L->gb, dout, NULL, NULL, Nr, L->fan, L->rows, m->scratch);
            if (i > lo) rm_gemm(0, 0, Nr, L->fan, L->rows, 1.0f, dout, L->rows, L->wp, L->fan, 0.0f, net->dcol, L->fan);
            rm_prof_end(RM_PROF_GEMM, tl);
            RM_PROF(RM_PROF_WQ, add_from_kkc(L->gw, net->gtmp, L->rows, L->ic, s->k));
            if (i > lo) RM_PROF(RM_PROF_IM2COL, col2im(din, net->dcol, B, L->ih, L->iw, L->ic, s->k, s->stride, s->pad, L->oh, L->ow));
            break;
        }
        case RM_NL_MAXPOOL: {
            size_t in_n = L->in_n;
#pragma omp parallel for schedule(static)
            for (int b = 0; b < B; b++) {
                float *db = din + (size_t)b * in_n;
                memset(db, 0, sizeof(float) * in_n);
                for (size_t j = 0; j < L->out_n; j++) db[L->arg[(size_t)b * L->out_n + j]] += dout[(size_t)b * L->out_n + j];
            }
            break;
        }
        case RM_NL_FLATTEN:
            if (L->in_sp) transpose_chw(din, dout, B, L->ic, L->ih * L->iw, 0);
            else memcpy(din, dout, sizeof(float) * n);
            break;
        case RM_NL_BN:
            bn_backward(din, L->gw, L->gb, dout, in, L->mean, L->w, L->rstd, N, C, 1, 0, m->scratch);
            break;
        case RM_NL_DROPOUT:
            if (s->p > 0) {
#pragma omp parallel for simd schedule(static)
                for (size_t j = 0; j < n; j++) din[j] = dout[j] * L->mask[j];
            } else memcpy(din, dout, sizeof(float) * n);
            break;
        case RM_NL_RELU:
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) din[j] = in[j] > 0 ? dout[j] : 0;
            break;
        case RM_NL_HARDTANH:
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) din[j] = fabsf(in[j]) < 1 ? dout[j] : 0;
            break;
        case RM_NL_TERNARY:   /* straight-through where |x| <= 1, as sign's STE */
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) din[j] = fabsf(in[j]) <= 1 ? dout[j] : 0;
            break;
        case RM_NL_SIGN:
            if (s->grad == RM_GRAD_RESTE) {
#pragma omp parallel for schedule(static)
                for (size_t j = 0; j < n; j++) din[j] = dout[j] * rm_reste_grad(in[j], s->o, s->t);
            } else {
#pragma omp parallel for simd schedule(static)
                for (size_t j = 0; j < n; j++) din[j] = fabsf(in[j]) <= 1 ? dout[j] : 0;
            }
            break;
        case RM_NL_CURVE:
            rm_act_backward(&s->act, C, L->ap, L->work, in, dout, din, L->gap, N);
            break;
        case RM_NL_QUANT: {
            float lo, hi, sc = quant_scale(s, &lo, &hi);
            float a = lo / sc, b = hi / sc;
#pragma omp parallel for simd schedule(static)
            for (size_t j = 0; j < n; j++) din[j] = in[j] >= a && in[j] <= b ? dout[j] : 0;
            break;
        }
        }
        if (s->type == RM_NL_LINEAR) rm_prof_end(RM_PROF_GEMM, tl);
        else if (s->type != RM_NL_CONV) rm_prof_end(prof_cat(s->type), tl);
        if ((s->type == RM_NL_LINEAR || s->type == RM_NL_CONV) && s->wq == RM_WQ_BINARY) {
            size_t nw = (size_t)L->rows * L->fan;
            double tq = rm_prof_begin();
            const float *w = L->w;
            float *gw = L->gw;
#pragma omp parallel for simd schedule(static) if (nw > 65536)
            for (size_t j = 0; j < nw; j++) gw[j] = fabsf(w[j]) > 1 ? 0.0f : gw[j];
            rm_prof_end(RM_PROF_WQ, tq);
        }
        dout = din;
    }
    net->step++;   /* dropout masks and stochastic rounding draw anew for the next training step */
}

const float *rm_net_weight_alpha(const rm_model *m, int i) {
    const struct rm_net *net = m->net;
    if (!net || i < 0 || i >= net->s.n || net->s.l[i].wq != RM_WQ_TERNARY) return NULL;
    return net->l[i].alpha;
}
