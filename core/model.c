/* model.c - build, free, forward and backward of the ResMLP (see model.h for the layout).
 * Forward/backward walk the sublayers with the kernels of layers.c and the activations of act.c. */
#include "model.h"
#include "layers.h"
#include "net.h"
#include "prof.h"
#include "prune.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

rm_model_cfg rm_model_default_cfg(int act_kind, int hidden) {
    rm_model_cfg c = {.T = 64, .P = 48, .D = 96, .H = hidden, .L = 4, .K = 10, .patch = 4};
    c.act = rm_act_default(act_kind);
    return c;
}

static int learned(const rm_model *m) { return rm_act_has_params(m->cfg.act.kind); }

/* ---- tensor table ---------------------------------------------------------------------------- */

typedef struct { rm_model *m; int pass; size_t off, boff; int nt, nb; } builder;

static void add_t(builder *bd, float **slot, int is_buf, int group, int block, int ndim, int64_t d0, int64_t d1,
                  const char *fmt, ...) __attribute__((format(printf, 9, 10)));
#include <stdarg.h>
static void add_t(builder *bd, float **slot, int is_buf, int group, int block, int ndim, int64_t d0, int64_t d1,
                  const char *fmt, ...) {
    rm_model *m = bd->m;
    size_t n = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    if (bd->pass == 1) {
        rm_ptensor *t = is_buf ? &m->buftensors[bd->nb] : &m->tensors[bd->nt];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->name, sizeof t->name, fmt, ap);
        va_end(ap);
        t->ndim = ndim; t->shape[0] = d0; t->shape[1] = ndim > 1 ? d1 : 0;
        t->off = is_buf ? bd->boff : bd->off; t->n = n; t->group = group; t->block = block; t->frozen = 0;
        if (slot) {
            if (is_buf) *slot = m->bmem + t->off;
            else {
                *slot = m->mem + t->off;
                float **gs = (float **)((char *)&m->g + ((char *)slot - (char *)&m->p));
                *gs = m->gmem + t->off;
            }
        }
    }
    if (is_buf) { bd->boff += n; bd->nb++; } else { bd->off += n; bd->nt++; }
}

/* add the tensors of one activation layer (C channels); slot receives the block start */
static void add_act(builder *bd, float **slot, int block, int C, const char *prefix) {
    rm_model *m = bd->m;
    const rm_act_cfg *a = &m->cfg.act;
    int nt = rm_act_ntensors(a);
    for (int i = 0; i < nt; i++) {
        const char *suf; int nd; int64_t sh[2]; size_t off;
        rm_act_tensor(a, C, i, &suf, &nd, sh, &off);
        add_t(bd, i == 0 ? slot : NULL, 0, RM_GROUP_ACT, block, nd, sh[0], sh[1], "%s.%s", prefix, suf);
    }
}

static void build_tensors(builder *bd) {
    rm_model *m = bd->m;
    const rm_model_cfg *c = &m->cfg;
    rm_params *p = &m->p;
    int D = c->D, H = c->H, T = c->T;
    add_t(bd, &p->embed_w, 0, 0, -1, 2, D, c->P, "embed_linear.weight");
    add_t(bd, &p->embed_b, 0, 0, -1, 1, D, 0, "embed_linear.bias");
    for (int l = 0; l < c->L; l++) {
        add_t(bd, &p->tok[l].bn_w, 0, 0, l, 1, D, 0, "layers.%d.layers.0.affine_1.bn.weight", l);
        add_t(bd, &p->tok[l].bn_b, 0, 0, l, 1, D, 0, "layers.%d.layers.0.affine_1.bn.bias", l);
        add_t(bd, &m->buf.tok_rm[l], 1, 0, l, 1, D, 0, "layers.%d.layers.0.affine_1.bn.running_mean", l);
        add_t(bd, &m->buf.tok_rv[l], 1, 0, l, 1, D, 0, "layers.%d.layers.0.affine_1.bn.running_var", l);
        add_t(bd, &p->tok[l].w, 0, 0, l, 2, T, T, "layers.%d.layers.0.layers.weight", l);
        add_t(bd, &p->tok[l].b, 0, 0, l, 1, T, 0, "layers.%d.layers.0.layers.bias", l);
        add_t(bd, &p->tok[l].ls_w, 0, 0, l, 1, D, 0, "layers.%d.layers.0.affine_2.weight", l);
        add_t(bd, &p->tok[l].ls_b, 0, 0, l, 1, D, 0, "layers.%d.layers.0.affine_2.bias", l);
        add_t(bd, &p->mlp[l].bn_w, 0, 0, l, 1, D, 0, "layers.%d.layers.1.affine_1.bn.weight", l);
        add_t(bd, &p->mlp[l].bn_b, 0, 0, l, 1, D, 0, "layers.%d.layers.1.affine_1.bn.bias", l);
        add_t(bd, &m->buf.mlp_rm[l], 1, 0, l, 1, D, 0, "layers.%d.layers.1.affine_1.bn.running_mean", l);
        add_t(bd, &m->buf.mlp_rv[l], 1, 0, l, 1, D, 0, "layers.%d.layers.1.affine_1.bn.running_var", l);
        char pre[64];
        if (learned(m)) {
            snprintf(pre, sizeof pre, "layers.%d.layers.1.layers.0", l);
            add_act(bd, &p->mlp[l].act1, l, D, pre);
            add_t(bd, &p->mlp[l].fc1_w, 0, 0, l, 2, H, D, "layers.%d.layers.1.layers.1.weight", l);
            add_t(bd, &p->mlp[l].fc1_b, 0, 0, l, 1, H, 0, "layers.%d.layers.1.layers.1.bias", l);
            snprintf(pre, sizeof pre, "layers.%d.layers.1.layers.2", l);
            add_act(bd, &p->mlp[l].act2, l, H, pre);
            add_t(bd, &p->mlp[l].fc2_w, 0, 0, l, 2, D, H, "layers.%d.layers.1.layers.3.weight", l);
            add_t(bd, &p->mlp[l].fc2_b, 0, 0, l, 1, D, 0, "layers.%d.layers.1.layers.3.bias", l);
        } else {
            add_t(bd, &p->mlp[l].fc1_w, 0, 0, l, 2, H, D, "layers.%d.layers.1.layers.0.weight", l);
            add_t(bd, &p->mlp[l].fc1_b, 0, 0, l, 1, H, 0, "layers.%d.layers.1.layers.0.bias", l);
            add_t(bd, &p->mlp[l].fc2_w, 0, 0, l, 2, D, H, "layers.%d.layers.1.layers.2.weight", l);
            add_t(bd, &p->mlp[l].fc2_b, 0, 0, l, 1, D, 0, "layers.%d.layers.1.layers.2.bias", l);
        }
        add_t(bd, &p->mlp[l].ls_w, 0, 0, l, 1, D, 0, "layers.%d.layers.1.affine_2.weight", l);
        add_t(bd, &p->mlp[l].ls_b, 0, 0, l, 1, D, 0, "layers.%d.layers.1.affine_2.bias", l);
    }
    add_t(bd, &p->head_bn_w, 0, 0, c->L, 1, D, 0, "affine.bn.weight");
    add_t(bd, &p->head_bn_b, 0, 0, c->L, 1, D, 0, "affine.bn.bias");
    add_t(bd, &m->buf.head_rm, 1, 0, c->L, 1, D, 0, "affine.bn.running_mean");
    add_t(bd, &m->buf.head_rv, 1, 0, c->L, 1, D, 0, "affine.bn.running_var");
    add_t(bd, &p->cls_w, 0, 0, c->L, 2, c->K, D, "classifier.weight");
    add_t(bd, &p->cls_b, 0, 0, c->L, 1, c->K, 0, "classifier.bias");
}

void rm_model_act_name(const rm_model *m, int block, int slot, char *buf, size_t n) {
    if (learned(m)) snprintf(buf, n, "layers.%d.layers.1.layers.%d", block, slot == 0 ? 0 : 2);
    else snprintf(buf, n, "layers.%d.layers.1.layers.1", block);
}

static void uniform_init(float *w, size_t n, float bound, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) w[i] = (2 * rm_rng_uniform(rng) - 1) * bound;
}

int rm_model_new(rm_ctx *ctx, rm_model **out, const rm_model_cfg *cfg, uint64_t seed) {
    *out = NULL;
    const rm_model_cfg *c = cfg;
    if (c->L < 1 || c->L > RM_MAXL) return rm_err(ctx, "model: layers=%d out of range 1..%d", c->L, RM_MAXL);
    if (c->H < 1 || c->H > RM_MAXC) return rm_err(ctx, "model: hidden=%d out of range 1..%d", c->H, RM_MAXC);
    if (c->D < 1 || c->D > RM_MAXC || c->T < 1 || c->T > RM_MAXC || c->P < 1 || c->K < 2 || c->K > 256)
        return rm_err(ctx, "model: bad shape embed=%d tokens=%d patch_dim=%d classes=%d", c->D, c->T, c->P, c->K);
    if (c->act.kind == RM_ACT_PSA) return rm_err(ctx, "model: activation 'psa' (unlerped) is for reference only; use lerp_psa");
    if (rm_act_check_cfg(ctx, &c->act)) return rm_errprefix(ctx, "model");
    rm_model *m = calloc(1, sizeof *m);
    if (!m) return rm_err(ctx, "out of memory allocating the model");
    m->cfg = *c;
    builder bd = {.m = m, .pass = 0};
    build_tensors(&bd);
    m->ntensors = bd.nt; m->nbuftensors = bd.nb; m->nparams = bd.off; m->nbufs = bd.boff;
    m->tensors = calloc(bd.nt, sizeof(rm_ptensor));
    m->buftensors = calloc(bd.nb, sizeof(rm_ptensor));
    m->mem = rm_calloc(ctx, m->nparams * sizeof(float), "parameters");
    m->gmem = m->mem ? rm_calloc(ctx, m->nparams * sizeof(float), "gradients") : NULL;
    m->bmem = m->gmem ? rm_calloc(ctx, m->nbufs * sizeof(float), "BN buffers") : NULL;
    m->scratch = m->bmem ? rm_malloc(ctx, RM_RSCRATCH * sizeof(double), "reduction scratch") : NULL;
    if (!m->tensors || !m->buftensors || !m->scratch) {
        if (!m->tensors || !m->buftensors) rm_err(ctx, "out of memory allocating tensor tables");
        rm_model_free(m);
        return RM_ERR;
    }
    bd = (builder){.m = m, .pass = 1};
    build_tensors(&bd);
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    for (int l = 0; l < c->L; l++)
        for (int s = 0; s < 2; s++) {
            size_t ws = rm_act_worksize(&c->act, s == 0 ? c->D : c->H, nth < 64 ? 64 : nth);
            if (ws && !(m->actwork[l][s] = rm_calloc(ctx, ws * sizeof(float), "activation work area"))) {
                rm_model_free(m);
                return RM_ERR;
            }
        }
    /* init: PyTorch defaults (Linear U(+-1/sqrt(fan_in)), BN (1,0), running (0,1)), LayerScale 0.1 */
    uint64_t rng = seed ? seed : 2023;
    rm_params *p = &m->p;
    int D = c->D, H = c->H, T = c->T;
    uniform_init(p->embed_w, (size_t)D * c->P, 1 / sqrtf(c->P), &rng);
    uniform_init(p->embed_b, D, 1 / sqrtf(c->P), &rng);
    for (int l = 0; l < c->L; l++) {
        for (int d = 0; d < D; d++) {
            p->tok[l].bn_w[d] = 1; p->mlp[l].bn_w[d] = 1;
            p->tok[l].ls_w[d] = 0.1f; p->mlp[l].ls_w[d] = 0.1f;
            m->buf.tok_rv[l][d] = 1; m->buf.mlp_rv[l][d] = 1;
        }
        uniform_init(p->tok[l].w, (size_t)T * T, 1 / sqrtf(T), &rng);
        uniform_init(p->tok[l].b, T, 1 / sqrtf(T), &rng);
        if (learned(m)) rm_act_init(&c->act, D, p->mlp[l].act1, &rng);
        uniform_init(p->mlp[l].fc1_w, (size_t)H * D, 1 / sqrtf(D), &rng);
        uniform_init(p->mlp[l].fc1_b, H, 1 / sqrtf(D), &rng);
        if (learned(m)) rm_act_init(&c->act, H, p->mlp[l].act2, &rng);
        uniform_init(p->mlp[l].fc2_w, (size_t)D * H, 1 / sqrtf(H), &rng);
        uniform_init(p->mlp[l].fc2_b, D, 1 / sqrtf(H), &rng);
    }
    for (int d = 0; d < D; d++) { p->head_bn_w[d] = 1; m->buf.head_rv[d] = 1; }
    uniform_init(p->cls_w, (size_t)c->K * D, 1 / sqrtf(D), &rng);
    uniform_init(p->cls_b, c->K, 1 / sqrtf(D), &rng);
    rm_model_reset_stats(m);
    *out = m;
    return RM_OK;
}

int rm_model_new_net(rm_ctx *ctx, rm_model **out, const char *spec, uint64_t seed) {
    *out = NULL;
    rm_net_spec s;
    if (rm_net_parse(ctx, spec, &s)) return RM_ERR;
    rm_model *m = calloc(1, sizeof *m);
    if (!m) return rm_err(ctx, "out of memory allocating the model");
    if (rm_net_build(ctx, m, &s, seed)) { rm_model_free(m); return RM_ERR; }
    rm_model_reset_stats(m);
    *out = m;
    return RM_OK;
}

int rm_model_new_like(rm_ctx *ctx, rm_model **out, const rm_model *tmpl, uint64_t seed) {
    if (!tmpl->net) return rm_model_new(ctx, out, &tmpl->cfg, seed);
    char d[4096];
    rm_model_describe(tmpl, d, sizeof d);
    return rm_model_new_net(ctx, out, d, seed);
}

size_t rm_model_input_size(const rm_model *m) { return m->net ? (size_t)m->cfg.P : (size_t)m->cfg.T * m->cfg.P; }

void rm_model_describe(const rm_model *m, char *buf, size_t n) {
    if (m->net) { rm_net_format(rm_net_spec_of(m), buf, n); return; }
    const rm_model_cfg *c = &m->cfg;
    snprintf(buf, n, "ResMLP act=%s hidden=%d embed=%d layers=%d tokens=%d patch_dim=%d classes=%d", rm_act_name(c->act.kind),
             c->H, c->D, c->L, c->T, c->P, c->K);
}

void rm_model_free(rm_model *m) {
    if (!m) return;
    rm_net_free(m);
    rm_prune_free(m);
    free(m->mem); free(m->gmem); free(m->bmem); free(m->cmem); free(m->scratch);
    free(m->tensors); free(m->buftensors);
    for (int l = 0; l < RM_MAXL; l++) for (int s = 0; s < 2; s++) free(m->actwork[l][s]);
    free(m);
}

int rm_model_copy_params(rm_ctx *ctx, rm_model *dst, const rm_model *src) {
    char a[2048], b[2048];
    rm_model_describe(dst, a, sizeof a);
    rm_model_describe(src, b, sizeof b);
    if (dst->nparams != src->nparams || dst->nbufs != src->nbufs || !dst->net != !src->net ||
        (!dst->net && memcmp(&dst->cfg, &src->cfg, sizeof dst->cfg)) || (dst->net && strcmp(a, b)))
        return rm_err(ctx, "copy: models have different architectures");
    memcpy(dst->mem, src->mem, dst->nparams * sizeof(float));
    memcpy(dst->bmem, src->bmem, dst->nbufs * sizeof(float));
    if (rm_prune_copy(ctx, dst, src)) return RM_ERR;
    rm_model_params_changed(dst);
    return RM_OK;
}

size_t rm_model_trainable_count(const rm_model *m) { return m->nparams; }

const rm_ptensor *rm_model_find(const rm_model *m, const char *name, int *is_buffer) {
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name)) { if (is_buffer) *is_buffer = 0; return &m->tensors[i]; }
    for (int i = 0; i < m->nbuftensors; i++)
        if (!strcmp(m->buftensors[i].name, name)) { if (is_buffer) *is_buffer = 1; return &m->buftensors[i]; }
    return NULL;
}

float *rm_model_tensor_data(rm_model *m, const char *name, const rm_ptensor **info) {
    int isb;
    const rm_ptensor *t = rm_model_find(m, name, &isb);
    if (info) *info = t;
    return t ? (isb ? m->bmem : m->mem) + t->off : NULL;
}

void rm_model_zero_grad(rm_model *m) { memset(m->gmem, 0, m->nparams * sizeof(float)); }
void rm_model_params_changed(rm_model *m) {
    m->act_ready = 0;
    if (m->prune) rm_prune_apply(m);   /* pruned weights stay zero */
    if (m->net) rm_net_params_changed(m);
}

void rm_model_set_frozen(rm_model *m, int freeze_embed, int frozen_below, int freeze_after) {
    for (int i = 0; i < m->ntensors; i++) {
        rm_ptensor *t = &m->tensors[i];
        if (m->net) { t->frozen = 0; continue; }   /* block freezing is the ResMLP's KT recipe */
        t->frozen = (t->block == -1 && freeze_embed) || (t->block >= 0 && t->block < frozen_below) ||
                    (t->block > freeze_after);
    }
}

void rm_model_reset_stats(rm_model *m) {
    memset(m->stats, 0, sizeof m->stats);
    float lo = m->cfg.act.kind == RM_ACT_LERP_PSA ? -2 * m->cfg.act.R : -8;
    for (int l = 0; l < RM_MAXL; l++)
        for (int s = 0; s < 2; s++) {
            m->stats[l][s].min = INFINITY; m->stats[l][s].max = -INFINITY;
            m->stats[l][s].hist_lo = lo; m->stats[l][s].hist_hi = -lo;
        }
}

/* ---- cache ----------------------------------------------------------------------------------- */

int rm_model_set_batch(rm_ctx *ctx, rm_model *m, int B) {
    if (m->net) return rm_net_set_batch(ctx, m, B);
    if (B < 1) return rm_err(ctx, "batch size %d must be >= 1", B);
    if (B <= m->Bcap && m->cmem) { m->B = B; return RM_OK; }
    const rm_model_cfg *c = &m->cfg;
    size_t N = (size_t)B * c->T, D = c->D, H = c->H, L = c->L;
    size_t nd = N * D, nh = N * H;
    size_t total = (2 * L + 1) * nd + L * (2 * nd + 2 * D) + L * (3 * nd + 2 * nh + 2 * D)
                 + nd + 2 * (size_t)B * D + (size_t)B * c->K + 2 * D
                 + 4 * nd + 2 * nh + (size_t)B * D + (size_t)B * c->K;
    float *mem = rm_malloc(ctx, total * sizeof(float), "activation cache");
    if (!mem) return rm_errprefix(ctx, "batch %d", B);
    free(m->cmem);
    m->cmem = mem;
    m->B = m->Bcap = B;
    float *q = mem;
#define TAKE(n) (q += (n), q - (n))
    rm_cache *k = &m->c;
    for (size_t i = 0; i <= 2 * L; i++) k->xs[i] = TAKE(nd);
    for (size_t l = 0; l < L; l++) {
        k->tok[l].ut = TAKE(nd); k->tok[l].vt = TAKE(nd);
        k->tok[l].mean = TAKE(D); k->tok[l].rstd = TAKE(D);
        k->mlp[l].u = TAKE(nd); k->mlp[l].a1 = TAKE(nd); k->mlp[l].o = TAKE(nd);
        k->mlp[l].hpre = TAKE(nh); k->mlp[l].hact = TAKE(nh);
        k->mlp[l].mean = TAKE(D); k->mlp[l].rstd = TAKE(D);
    }
    k->hu = TAKE(nd); k->pooled = TAKE((size_t)B * D); k->dpooled = TAKE((size_t)B * D);
    k->logits = TAKE((size_t)B * c->K); k->hmean = TAKE(D); k->hrstd = TAKE(D);
    k->d0 = TAKE(nd); k->d1 = TAKE(nd); k->d2 = TAKE(nd); k->dstream = TAKE(nd);
    k->dh0 = TAKE(nh); k->dh1 = TAKE(nh); k->dlogits = TAKE((size_t)B * c->K);
    (void)TAKE((size_t)B * D);
#undef TAKE
    return RM_OK;
}

/* ---- forward --------------------------------------------------------------------------------- */

static void prepare_acts(rm_model *m) {
    if (m->act_ready || !learned(m)) return;
    for (int l = 0; l < m->cfg.L; l++) {
        rm_act_prepare(&m->cfg.act, m->cfg.D, m->p.mlp[l].act1, m->actwork[l][0]);
        rm_act_prepare(&m->cfg.act, m->cfg.H, m->p.mlp[l].act2, m->actwork[l][1]);
    }
    m->act_ready = 1;
}

static void record(rm_act_stats *s, const float *x, size_t n) {
    double sum = 0, sq = 0;
    float mn = s->min, mx = s->max;
    double w = RM_HIST_BINS / (double)(s->hist_hi - s->hist_lo);
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        sum += v; sq += (double)v * v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        int b = (int)floor((v - s->hist_lo) * w);
        b = b < 0 ? 0 : b >= RM_HIST_BINS ? RM_HIST_BINS - 1 : b;
        s->hist[b] += 1;
    }
    s->count += n; s->sum += sum; s->sumsq += sq; s->min = mn; s->max = mx;
}

int rm_model_forward(rm_ctx *ctx, rm_model *m, const float *x, int B, int train, int upto) {
    if (m->net) return rm_net_forward(ctx, m, x, B, train);
    if (rm_model_set_batch(ctx, m, B)) return RM_ERR;
    const rm_model_cfg *c = &m->cfg;
    int T = c->T, D = c->D, H = c->H, N = B * T;
    rm_cache *k = &m->c;
    rm_params *p = &m->p;
    const float mom = 0.1f, eps = 1e-5f;
    int head = upto < 0;
    if (upto < 0 || upto > c->L) upto = c->L;
    RM_PROF(RM_PROF_ACT, prepare_acts(m));
    RM_PROF(RM_PROF_GEMM, linear_forward(k->xs[0], x, p->embed_w, p->embed_b, N, c->P, D));
    /* BatchNorm of each new stream state is fused into the pass that writes it (layers.h): in training
     * that pass also sums its columns (pending = 1: the sums wait in the scratch for bn_forward_summed),
     * in evaluation it applies the running statistics at once (pending = 2: the BN output is written). */
    int pending = 0;
    for (int l = 0; l < upto; l++) {
        /* token mixing: x + ls(W @ bn(x)^T) */
        const float *xin = k->xs[2 * l];
        if (pending == 1)
            RM_PROF(RM_PROF_BN, bn_forward_summed(k->tok[l].ut, k->tok[l].mean, k->tok[l].rstd, xin, p->tok[l].bn_w, p->tok[l].bn_b,
                                                  m->buf.tok_rm[l], m->buf.tok_rv[l], N, D, mom, eps, T, m->scratch));
        else if (pending == 0)
            RM_PROF(RM_PROF_BN, bn_forward(k->tok[l].ut, k->tok[l].mean, k->tok[l].rstd, xin, p->tok[l].bn_w, p->tok[l].bn_b,
                                           m->buf.tok_rm[l], m->buf.tok_rv[l], N, D, train, mom, eps, T, m->scratch));
        /* the token-mixing and fc2 biases are added in the LayerScale pass that reads vt / o (out = x + (v + bias)*w
         * + b): their GEMMs run with beta = 0 and no bias pass; the backward adds them back the same way */
        RM_PROF(RM_PROF_GEMM, tokmix_forward(k->tok[l].vt, k->tok[l].ut, p->tok[l].w, NULL, T, B * D));
        /* channel MLP: x + ls(fc2(act2(fc1(act1(bn(x)))))) */
        if (train) {
            RM_PROF(RM_PROF_LS, affine_residual_forward_sumsq(k->xs[2 * l + 1], xin, k->tok[l].vt, p->tok[l].b, p->tok[l].ls_w, p->tok[l].ls_b,
                                                              N, D, T, m->scratch));
            xin = k->xs[2 * l + 1];
            RM_PROF(RM_PROF_BN, bn_forward_summed(k->mlp[l].u, k->mlp[l].mean, k->mlp[l].rstd, xin, p->mlp[l].bn_w, p->mlp[l].bn_b,
                                                  m->buf.mlp_rm[l], m->buf.mlp_rv[l], N, D, mom, eps, 0, m->scratch));
        } else {
            RM_PROF(RM_PROF_LS, affine_residual_bn_eval(k->xs[2 * l + 1], k->mlp[l].u, k->mlp[l].mean, k->mlp[l].rstd, xin,
                                                        k->tok[l].vt, p->tok[l].b, p->tok[l].ls_w, p->tok[l].ls_b, p->mlp[l].bn_w,
                                                        p->mlp[l].bn_b, m->buf.mlp_rm[l], m->buf.mlp_rv[l], N, D, T, 0, eps));
            xin = k->xs[2 * l + 1];
        }
        const float *a1 = k->mlp[l].u;
        if (learned(m)) {
            if (m->record_stats) record(&m->stats[l][0], k->mlp[l].u, (size_t)N * D);
            RM_PROF(RM_PROF_ACT, rm_act_forward(&c->act, D, p->mlp[l].act1, m->actwork[l][0], k->mlp[l].u, k->mlp[l].a1, N));
            a1 = k->mlp[l].a1;
        }
        if (c->act.kind == RM_ACT_RELU && !m->record_stats) {
            /* fused: hact = relu(a1 W1^T + b1); the ReLU backward only needs hact */
            RM_PROF(RM_PROF_GEMM, linear_forward(k->mlp[l].hact, a1, p->mlp[l].fc1_w, NULL, N, D, H));
            RM_PROF(RM_PROF_ACT, relu_bias_forward(k->mlp[l].hact, p->mlp[l].fc1_b, N, H));
        } else {
            RM_PROF(RM_PROF_GEMM, linear_forward(k->mlp[l].hpre, a1, p->mlp[l].fc1_w, p->mlp[l].fc1_b, N, D, H));
            if (m->record_stats) record(&m->stats[l][1], k->mlp[l].hpre, (size_t)N * H);
            RM_PROF(RM_PROF_ACT, rm_act_forward(&c->act, H, p->mlp[l].act2, m->actwork[l][1], k->mlp[l].hpre, k->mlp[l].hact, N));
        }
        RM_PROF(RM_PROF_GEMM, linear_forward(k->mlp[l].o, k->mlp[l].hact, p->mlp[l].fc2_w, NULL, N, H, D));
        /* the BN that reads the new stream state: the next block's token BN, or the head's */
        int next = l + 1 < upto ? 1 : head ? 2 : 0;
        float *ny = NULL, *nmean = NULL, *nrstd = NULL, *ng = NULL, *nb = NULL, *nrm = NULL, *nrv = NULL;
        int nT = 0;
        if (next == 1) {
            ny = k->tok[l + 1].ut; nmean = k->tok[l + 1].mean; nrstd = k->tok[l + 1].rstd; ng = p->tok[l + 1].bn_w;
            nb = p->tok[l + 1].bn_b; nrm = m->buf.tok_rm[l + 1]; nrv = m->buf.tok_rv[l + 1]; nT = T;
        } else if (next == 2) {
            ny = k->hu; nmean = k->hmean; nrstd = k->hrstd; ng = p->head_bn_w; nb = p->head_bn_b;
            nrm = m->buf.head_rm; nrv = m->buf.head_rv;
        }
        if (next && train) {
            RM_PROF(RM_PROF_LS, affine_residual_forward_sumsq(k->xs[2 * l + 2], xin, k->mlp[l].o, p->mlp[l].fc2_b, p->mlp[l].ls_w, p->mlp[l].ls_b,
                                                              N, D, 0, m->scratch));
            pending = 1;
        } else if (next) {
            RM_PROF(RM_PROF_LS, affine_residual_bn_eval(k->xs[2 * l + 2], ny, nmean, nrstd, xin, k->mlp[l].o, p->mlp[l].fc2_b, p->mlp[l].ls_w,
                                                        p->mlp[l].ls_b, ng, nb, nrm, nrv, N, D, 0, nT, eps));
            pending = 2;
        } else {
            RM_PROF(RM_PROF_LS, affine_residual_forward_b(k->xs[2 * l + 2], xin, k->mlp[l].o, p->mlp[l].fc2_b, p->mlp[l].ls_w, p->mlp[l].ls_b, N, D, 0));
            pending = 0;
        }
    }
    if (head) {
        if (pending == 1)
            RM_PROF(RM_PROF_BN, bn_forward_summed(k->hu, k->hmean, k->hrstd, k->xs[2 * c->L], p->head_bn_w, p->head_bn_b,
                                                  m->buf.head_rm, m->buf.head_rv, N, D, mom, eps, 0, m->scratch));
        else if (pending == 0)
            RM_PROF(RM_PROF_BN, bn_forward(k->hu, k->hmean, k->hrstd, k->xs[2 * c->L], p->head_bn_w, p->head_bn_b,
                                           m->buf.head_rm, m->buf.head_rv, N, D, train, mom, eps, 0, m->scratch));
        RM_PROF(RM_PROF_LOSS, meanpool_forward(k->pooled, k->hu, B, T, D));
        RM_PROF(RM_PROF_GEMM, linear_forward(k->logits, k->pooled, p->cls_w, p->cls_b, B, D, c->K));
    }
    for (size_t i = 0; i < (size_t)B * c->K && head; i++)
        if (!isfinite(k->logits[i])) return rm_err(ctx, "forward: non-finite logit at sample %zu", i / c->K);
    return RM_OK;
}

/* ---- backward -------------------------------------------------------------------------------- */

void rm_model_backward(rm_model *m, const float *x, const float *dlogits, const float *dstream, int upto, int from_block) {
    if (m->net) { rm_net_backward(m, x, dlogits); return; }
    const rm_model_cfg *c = &m->cfg;
    int B = m->B, T = c->T, D = c->D, H = c->H, N = B * T;
    rm_cache *k = &m->c;
    rm_params *p = &m->p, *g = &m->g;
    double *sc = m->scratch;
    int head = upto < 0;
    if (upto < 0 || upto > c->L) upto = c->L;
    float *ds = k->dstream;   /* gradient w.r.t. the current stream state (N,D) */
    /* The BatchNorm that read a stream state and the LayerScale+residual that wrote it meet in one pass
     * over ds (stream_backward): the BN's dx goes into ds, then the LayerScale backward reads it, and the
     * bias sum of the linear before the LayerScale rides along. bg holds the pending BN's coefficients. */
    rm_bn_grad bg;   /* 24 KiB of coefficients on the stack */
    const rm_bn_grad *pend = NULL;
    int pend_acc = 0;
    if (head) {
        RM_PROF(RM_PROF_GEMM, linear_backward(k->dpooled, g->cls_w, g->cls_b, dlogits, k->pooled, p->cls_w, B, D, c->K, sc));
        RM_PROF(RM_PROF_LOSS, meanpool_backward(k->d0, k->dpooled, B, T, D));
        RM_PROF(RM_PROF_BN, bn_backward_reduce(&bg, g->head_bn_w, g->head_bn_b, k->d0, k->xs[2 * c->L], k->hmean, p->head_bn_w,
                                               k->hrstd, N, D, 1, 0, sc));
        pend = &bg; pend_acc = 0;
    } else {
        memcpy(ds, dstream, sizeof(float) * N * D);
    }
    int lo = from_block < 0 ? 0 : from_block;
    for (int l = upto - 1; l >= lo; l--) {
        /* channel MLP: [pending BN dx into ds] + LayerScale backward + fc2's bias gradient, one pass */
        RM_PROF(RM_PROF_LS, stream_backward(ds, pend, pend_acc, k->d0, g->mlp[l].ls_w, g->mlp[l].ls_b, g->mlp[l].fc2_b,
                                            k->mlp[l].o, p->mlp[l].fc2_b, p->mlp[l].ls_w, N, D, 0, sc));
        RM_PROF(RM_PROF_GEMM, linear_backward(k->dh0, g->mlp[l].fc2_w, NULL, k->d0, k->mlp[l].hact, p->mlp[l].fc2_w, N, H, D, sc));
        float *db1 = g->mlp[l].fc1_b;
        if (c->act.kind == RM_ACT_RELU) {
            RM_PROF(RM_PROF_ACT, relu_bias_backward(k->dh1, db1, k->dh0, k->mlp[l].hact, N, H, sc));
            db1 = NULL;
        } else {
            RM_PROF(RM_PROF_ACT, rm_act_backward(&c->act, H, p->mlp[l].act2, m->actwork[l][1], k->mlp[l].hpre, k->dh0, k->dh1, g->mlp[l].act2, N));
        }
        const float *a1 = learned(m) ? k->mlp[l].a1 : k->mlp[l].u;
        RM_PROF(RM_PROF_GEMM, linear_backward(k->d1, g->mlp[l].fc1_w, db1, k->dh1, a1, p->mlp[l].fc1_w, N, D, H, sc));
        float *du = k->d1;
        if (learned(m)) {
            RM_PROF(RM_PROF_ACT, rm_act_backward(&c->act, D, p->mlp[l].act1, m->actwork[l][0], k->mlp[l].u, k->d1, k->d2, g->mlp[l].act1, N));
            du = k->d2;
        }
        RM_PROF(RM_PROF_BN, bn_backward_reduce(&bg, g->mlp[l].bn_w, g->mlp[l].bn_b, du, k->xs[2 * l + 1], k->mlp[l].mean, p->mlp[l].bn_w,
                                               k->mlp[l].rstd, N, D, 1, 0, sc));
        /* token mixing: the MLP BN's dx added into ds (the residual branch) + LayerScale backward, one pass
         * (d1 receives dvt (T,B,D) as d1 is free again; d2 dut) */
        float *dvt = du == k->d1 ? k->d2 : k->d1, *dut = du == k->d1 ? k->d1 : k->d2;
        RM_PROF(RM_PROF_LS, stream_backward(ds, &bg, 1, dvt, g->tok[l].ls_w, g->tok[l].ls_b, NULL, k->tok[l].vt, p->tok[l].b,
                                            p->tok[l].ls_w, N, D, T, sc));
        RM_PROF(RM_PROF_GEMM, tokmix_backward(dut, g->tok[l].w, g->tok[l].b, dvt, k->tok[l].ut, p->tok[l].w, T, B * D));
        RM_PROF(RM_PROF_BN, bn_backward_reduce(&bg, g->tok[l].bn_w, g->tok[l].bn_b, dut, k->xs[2 * l], k->tok[l].mean, p->tok[l].bn_w,
                                               k->tok[l].rstd, N, D, 1, T, sc));
        pend = &bg; pend_acc = 1;
    }
    if (from_block < 0) {
        /* the last BN's dx into ds, with the embedding's bias gradient in the same pass */
        RM_PROF(RM_PROF_BN, stream_backward(ds, pend, pend_acc, NULL, NULL, g->embed_b, NULL, NULL, NULL, NULL, N, D, 0, sc));
        RM_PROF(RM_PROF_GEMM, linear_backward(NULL, g->embed_w, NULL, ds, x, p->embed_w, N, c->P, D, sc));
    }
}

float rm_model_regular(rm_model *m, float lambda, int grad) {
    if (m->net) return rm_net_regular(m, lambda, grad);
    if (m->cfg.act.kind != RM_ACT_BSPLINE || lambda == 0) return 0;
    float s = 0;
    for (int l = 0; l < m->cfg.L; l++) {
        s += rm_act_regular(&m->cfg.act, m->cfg.D, m->p.mlp[l].act1, grad ? m->g.mlp[l].act1 : NULL, lambda);
        s += rm_act_regular(&m->cfg.act, m->cfg.H, m->p.mlp[l].act2, grad ? m->g.mlp[l].act2 : NULL, lambda);
    }
    return s;
}
