/* fold.c - BatchNorm/LayerScale folding of a trained ResMLP and the fp32 forward of the folded network
 * (see fold.h). Folding is done in double precision; the forward uses the same kernels as model.c. */
#include "fold.h"
#include "layers.h"
#include "prune.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- tensor table ---------------------------------------------------------------------------- */

typedef struct { rm_folded *f; int pass; size_t off; int nt; } fbuild;

static void add_t(fbuild *bd, float **slot, int group, int block, int ndim, int64_t d0, int64_t d1,
                  const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void add_t(fbuild *bd, float **slot, int group, int block, int ndim, int64_t d0, int64_t d1,
                  const char *fmt, ...) {
    rm_folded *f = bd->f;
    size_t n = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    if (bd->pass == 1) {
        rm_ptensor *t = &f->tensors[bd->nt];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->name, sizeof t->name, fmt, ap);
        va_end(ap);
        t->ndim = ndim; t->shape[0] = d0; t->shape[1] = ndim > 1 ? d1 : 0;
        t->off = bd->off; t->n = n; t->group = group; t->block = block; t->frozen = 0;
        if (slot) *slot = f->mem + t->off;
    }
    bd->off += n;
    bd->nt++;
}

static void add_act(fbuild *bd, float **slot, int block, int C, const char *prefix) {
    const rm_act_cfg *a = &bd->f->cfg.act;
    int nt = rm_act_ntensors(a);
    for (int i = 0; i < nt; i++) {
        const char *suf; int nd; int64_t sh[2]; size_t off;
        rm_act_tensor(a, C, i, &suf, &nd, sh, &off);
        add_t(bd, i == 0 ? slot : NULL, RM_GROUP_ACT, block, nd, sh[0], sh[1], "%s.%s", prefix, suf);
    }
}

static void build(fbuild *bd) {
    rm_folded *f = bd->f;
    const rm_model_cfg *c = &f->cfg;
    int D = c->D, H = c->H, T = c->T;
    add_t(bd, &f->embed.w, 0, -1, 2, D, c->P, "embed.weight");
    add_t(bd, &f->embed.b, 0, -1, 1, D, 0, "embed.bias");
    for (int l = 0; l < c->L; l++) {
        add_t(bd, &f->tok[l].a1_w, 0, l, 1, D, 0, "layers.%d.tok.affine_1.weight", l);
        add_t(bd, &f->tok[l].a1_b, 0, l, 1, D, 0, "layers.%d.tok.affine_1.bias", l);
        add_t(bd, &f->tok[l].w, 0, l, 2, T, T, "layers.%d.tok.linear.weight", l);
        add_t(bd, &f->tok[l].b, 0, l, 1, T, 0, "layers.%d.tok.linear.bias", l);
        add_t(bd, &f->tok[l].a2_w, 0, l, 1, D, 0, "layers.%d.tok.affine_2.weight", l);
        add_t(bd, &f->tok[l].a2_b, 0, l, 1, D, 0, "layers.%d.tok.affine_2.bias", l);
        add_t(bd, &f->tok[l].res_w, 0, l, 1, D, 0, "layers.%d.tok.res_affine.weight", l);
        add_t(bd, &f->tok[l].res_b, 0, l, 1, D, 0, "layers.%d.tok.res_affine.bias", l);
        add_t(bd, &f->mlp[l].res_w, 0, l, 1, D, 0, "layers.%d.mlp.res_affine.weight", l);
        add_t(bd, &f->mlp[l].res_b, 0, l, 1, D, 0, "layers.%d.mlp.res_affine.bias", l);
        char pre[64];
        if (f->has_act1) {
            add_t(bd, &f->mlp[l].in_w, 0, l, 1, D, 0, "layers.%d.mlp.in_affine.weight", l);
            add_t(bd, &f->mlp[l].in_b, 0, l, 1, D, 0, "layers.%d.mlp.in_affine.bias", l);
            snprintf(pre, sizeof pre, "layers.%d.mlp.act_1", l);
            add_act(bd, &f->mlp[l].act1, l, D, pre);
        }
        add_t(bd, &f->mlp[l].fc1_w, 0, l, 2, H, D, "layers.%d.mlp.linear_1.weight", l);
        add_t(bd, &f->mlp[l].fc1_b, 0, l, 1, H, 0, "layers.%d.mlp.linear_1.bias", l);
        if (rm_act_has_params(c->act.kind)) {
            snprintf(pre, sizeof pre, "layers.%d.mlp.act_2", l);
            add_act(bd, &f->mlp[l].act2, l, H, pre);
        }
        add_t(bd, &f->mlp[l].fc2_w, 0, l, 2, D, H, "layers.%d.mlp.linear_2.weight", l);
        add_t(bd, &f->mlp[l].fc2_b, 0, l, 1, D, 0, "layers.%d.mlp.linear_2.bias", l);
    }
    add_t(bd, &f->cls_w, 0, c->L, 2, c->K, D, "classifier.weight");
    add_t(bd, &f->cls_b, 0, c->L, 1, c->K, 0, "classifier.bias");
}

int rm_fold_new(rm_ctx *ctx, rm_folded **out, const rm_model_cfg *cfg) {
    *out = NULL;
    if (cfg->L < 1 || cfg->L > RM_MAXL || cfg->H < 1 || cfg->H > RM_MAXC || cfg->D < 1 || cfg->D > RM_MAXC ||
        cfg->T < 1 || cfg->T > RM_MAXC || cfg->P < 1 || cfg->K < 2 || cfg->K > 256)
        return rm_err(ctx, "fold: bad model shape");
    if (cfg->act.kind == RM_ACT_PSA) return rm_err(ctx, "fold: activation 'psa' is not supported (use lerp_psa)");
    if (rm_act_check_cfg(ctx, &cfg->act)) return rm_errprefix(ctx, "fold");
    rm_folded *f = calloc(1, sizeof *f);
    if (!f) return rm_err(ctx, "fold: out of memory");
    f->cfg = *cfg;
    f->has_act1 = rm_act_has_params(cfg->act.kind);
    f->act2_lut = cfg->act.kind != RM_ACT_RELU;
    fbuild bd = {.f = f, .pass = 0};
    build(&bd);
    f->ntensors = bd.nt;
    f->nparams = bd.off;
    f->tensors = rm_calloc(ctx, (size_t)bd.nt * sizeof(rm_ptensor), "folded tensor table");
    f->mem = f->tensors ? rm_calloc(ctx, f->nparams * sizeof(float), "folded parameters") : NULL;
    f->gmem = f->mem ? rm_calloc(ctx, f->nparams * sizeof(float), "folded gradients") : NULL;
    if (!f->gmem) { rm_folded_free(f); return RM_ERR; }
    bd = (fbuild){.f = f, .pass = 1};
    build(&bd);
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    for (int l = 0; l < cfg->L; l++)
        for (int s = 0; s < 2; s++) {
            if (s == 0 && !f->has_act1) continue;
            size_t ws = rm_act_worksize(&cfg->act, s == 0 ? cfg->D : cfg->H, nth < 64 ? 64 : nth);
            if (ws && !(f->actwork[l][s] = rm_calloc(ctx, ws * sizeof(float), "activation work area"))) {
                rm_folded_free(f);
                return RM_ERR;
            }
        }
    for (int l = 0; l < cfg->L; l++)
        for (int d = 0; d < cfg->D; d++) { f->tok[l].res_w[d] = 1; f->mlp[l].res_w[d] = 1; }
    *out = f;
    return RM_OK;
}

void rm_folded_free(rm_folded *f) {
    if (!f) return;
    free(f->mem); free(f->gmem); free(f->tensors); free(f->cmem);
    rm_prune_release(f->prune);
    for (int l = 0; l < RM_MAXL; l++) for (int s = 0; s < 2; s++) free(f->actwork[l][s]);
    free(f);
}

int rm_folded_copy(rm_ctx *ctx, rm_folded *dst, const rm_folded *src) {
    if (dst->nparams != src->nparams || memcmp(&dst->cfg, &src->cfg, sizeof dst->cfg))
        return rm_err(ctx, "folded copy: different architectures");
    memcpy(dst->mem, src->mem, src->nparams * sizeof(float));
    rm_folded_params_changed(dst);
    return RM_OK;
}

void rm_folded_params_changed(rm_folded *f) {
    f->act_ready = 0;
    const rm_prune *p = f->prune;
    for (int i = 0; p && i < p->n; i++) {   /* pruned weights stay zero (same layouts as the model's) */
        const rm_prune_layer *L = &p->l[i];
        int b = L->index, k = L->kind;
        if (!L->npruned || ((k == RM_WL_TOK || k == RM_WL_FC1 || k == RM_WL_FC2) && (b < 0 || b >= f->cfg.L))) continue;
        float *w = k == RM_WL_EMBED ? f->embed.w : k == RM_WL_CLS ? f->cls_w : k == RM_WL_TOK ? f->tok[b].w
                 : k == RM_WL_FC1 ? f->mlp[b].fc1_w : k == RM_WL_FC2 ? f->mlp[b].fc2_w : NULL;
        for (int j = 0; w && j < L->nblocks; j++)
            if (L->mask[j])
                for (int r = 0; r < L->rows; r++) memset(w + (size_t)r * L->cols + (size_t)j * L->simd, 0, sizeof(float) * L->simd);
    }
}

void rm_folded_prepare_acts(rm_folded *f) {
    if (f->act_ready) return;
    const rm_model_cfg *c = &f->cfg;
    if (rm_act_has_params(c->act.kind))
        for (int l = 0; l < c->L; l++) {
            rm_act_prepare(&c->act, c->D, f->mlp[l].act1, f->actwork[l][0]);
            rm_act_prepare(&c->act, c->H, f->mlp[l].act2, f->actwork[l][1]);
        }
    f->act_ready = 1;
}

/* ---- folding --------------------------------------------------------------------------------- */

/* BN (gamma, beta, running mean, var) -> affine (w, b), in double */
static void bn_affine(const float *g, const float *be, const float *rm, const float *rv, int C, double *w, double *b) {
    for (int c = 0; c < C; c++) {
        w[c] = (double)g[c] / sqrt((double)rv[c] + 1e-5);
        b[c] = (double)be[c] - (double)rm[c] * w[c];
    }
}

int rm_fold(rm_ctx *ctx, const rm_model *m, rm_folded **out) {
    rm_folded *f;
    if (rm_fold_new(ctx, &f, &m->cfg)) return RM_ERR;
    const rm_model_cfg *c = &m->cfg;
    const rm_params *p = &m->p;
    int D = c->D, H = c->H, T = c->T, K = c->K;
    double w[RM_MAXC], b[RM_MAXC];
    memcpy(f->embed.w, p->embed_w, sizeof(float) * D * c->P);
    memcpy(f->embed.b, p->embed_b, sizeof(float) * D);
    size_t na1 = rm_act_nparams(&c->act, D), na2 = rm_act_nparams(&c->act, H);
    for (int l = 0; l < c->L; l++) {
        bn_affine(p->tok[l].bn_w, p->tok[l].bn_b, m->buf.tok_rm[l], m->buf.tok_rv[l], D, w, b);
        for (int d = 0; d < D; d++) { f->tok[l].a1_w[d] = (float)w[d]; f->tok[l].a1_b[d] = (float)b[d]; }
        memcpy(f->tok[l].w, p->tok[l].w, sizeof(float) * T * T);
        memcpy(f->tok[l].b, p->tok[l].b, sizeof(float) * T);
        memcpy(f->tok[l].a2_w, p->tok[l].ls_w, sizeof(float) * D);
        memcpy(f->tok[l].a2_b, p->tok[l].ls_b, sizeof(float) * D);
        bn_affine(p->mlp[l].bn_w, p->mlp[l].bn_b, m->buf.mlp_rm[l], m->buf.mlp_rv[l], D, w, b);
        if (f->has_act1) {
            for (int d = 0; d < D; d++) { f->mlp[l].in_w[d] = (float)w[d]; f->mlp[l].in_b[d] = (float)b[d]; }
            memcpy(f->mlp[l].act1, p->mlp[l].act1, sizeof(float) * na1);
            memcpy(f->mlp[l].fc1_w, p->mlp[l].fc1_w, sizeof(float) * H * D);
            memcpy(f->mlp[l].fc1_b, p->mlp[l].fc1_b, sizeof(float) * H);
        } else {
            /* fc1(bn(x)) = W (w*x + b) + c = (W diag(w)) x + (W b + c) */
            for (int j = 0; j < H; j++) {
                const float *wr = p->mlp[l].fc1_w + (size_t)j * D;
                double acc = p->mlp[l].fc1_b[j];
                for (int d = 0; d < D; d++) {
                    f->mlp[l].fc1_w[(size_t)j * D + d] = (float)(wr[d] * w[d]);
                    acc += (double)wr[d] * b[d];
                }
                f->mlp[l].fc1_b[j] = (float)acc;
            }
        }
        if (na2) memcpy(f->mlp[l].act2, p->mlp[l].act2, sizeof(float) * na2);
        /* ls_w * (W2 h + c2) + ls_b = (diag(ls_w) W2) h + (ls_w c2 + ls_b) */
        for (int d = 0; d < D; d++) {
            double s = p->mlp[l].ls_w[d];
            for (int j = 0; j < H; j++) f->mlp[l].fc2_w[(size_t)d * H + j] = (float)(s * p->mlp[l].fc2_w[(size_t)d * H + j]);
            f->mlp[l].fc2_b[d] = (float)(s * p->mlp[l].fc2_b[d] + p->mlp[l].ls_b[d]);
        }
    }
    /* head: cls(mean_t(w*x + b)) = (W diag(w)) mean_t x + (W b + c) */
    bn_affine(p->head_bn_w, p->head_bn_b, m->buf.head_rm, m->buf.head_rv, D, w, b);
    for (int k = 0; k < K; k++) {
        double acc = p->cls_b[k];
        for (int d = 0; d < D; d++) {
            f->cls_w[(size_t)k * D + d] = (float)(p->cls_w[(size_t)k * D + d] * w[d]);
            acc += (double)p->cls_w[(size_t)k * D + d] * b[d];
        }
        f->cls_b[k] = (float)acc;
    }
    if (m->prune && !(f->prune = rm_prune_dup(m->prune))) { rm_folded_free(f); return rm_err(ctx, "fold: out of memory"); }
    *out = f;
    return RM_OK;
}

/* ---- fp32 forward ---------------------------------------------------------------------------- */

static int set_batch(rm_ctx *ctx, rm_folded *f, int B) {
    if (B <= f->Bcap && f->cmem) return RM_OK;
    const rm_model_cfg *c = &f->cfg;
    size_t nd = (size_t)B * c->T * c->D, nh = (size_t)B * c->T * c->H, L = c->L;
    size_t total = (2 * L + 1) * nd + (size_t)B * c->K + 3 * nd + 2 * nh + (size_t)B * c->D;
    float *mem = rm_malloc(ctx, total * sizeof(float), "folded forward cache");
    if (!mem) return RM_ERR;
    free(f->cmem);
    f->cmem = mem;
    f->Bcap = B;
    float *q = mem;
    for (size_t i = 0; i <= 2 * L; i++) { f->xs[i] = q; q += nd; }
    f->logits = q; q += (size_t)B * c->K;
    f->t0 = q; q += nd; f->t1 = q; q += nd; f->t2 = q; q += nd;
    f->h0 = q; q += nh; f->h1 = q; q += nh;
    f->pooled = q;
    return RM_OK;
}

/* per-sample abs max of x (B rows of n floats) into out (B) */
static void sample_absmax(float *out, const float *x, int B, size_t n) {
    if (!out) return;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *r = x + (size_t)b * n;
        float m = 0;
        for (size_t i = 0; i < n; i++) { float a = fabsf(r[i]); m = a > m ? a : m; }
        out[b] = m;
    }
}

// y (N,C) = w*x + b per channel; y may alias x
static void chan_affine(float *y, const float *x, const float *w, const float *b, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int c = 0; c < C; c++) y[(size_t)r * C + c] = x[(size_t)r * C + c] * w[c] + b[c];
}

int rm_folded_forward(rm_ctx *ctx, rm_folded *f, const float *x, int B, float *const *site_max) {
    if (B < 1) return rm_err(ctx, "folded forward: batch %d", B);
    if (set_batch(ctx, f, B)) return RM_ERR;
    rm_folded_prepare_acts(f);
    const rm_model_cfg *c = &f->cfg;
    const int T = c->T, D = c->D, H = c->H, N = B * T;
    const size_t nd = (size_t)N * D;
    float *const *sm = site_max;
#define SITE(s, ptr, n) do { if (sm && sm[s]) sample_absmax(sm[s], ptr, B, n); } while (0)
    SITE(RM_SITE_INPUT, x, (size_t)T * c->P);
    linear_forward(f->xs[0], x, f->embed.w, f->embed.b, N, c->P, D);
    SITE(RM_SITE_EMBED, f->xs[0], (size_t)T * D);
    for (int l = 0; l < c->L; l++) {
        const float *xin = f->xs[2 * l];
        float *xmid = f->xs[2 * l + 1], *xout = f->xs[2 * l + 2];
        /* token mixing: a = a1(x) -> (T, B*D) layout -> W @ a + b_t -> a2 -> + res(x) */
        chan_affine(f->t0, xin, f->tok[l].a1_w, f->tok[l].a1_b, N, D);
        SITE(rm_site(l, RM_SITE_TOK_A1), f->t0, (size_t)T * D);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++) memcpy(f->t1 + ((size_t)(r % T) * B + r / T) * D, f->t0 + (size_t)r * D, sizeof(float) * D);
        tokmix_forward(f->t2, f->t1, f->tok[l].w, f->tok[l].b, T, B * D);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++) memcpy(f->t0 + (size_t)r * D, f->t2 + ((size_t)(r % T) * B + r / T) * D, sizeof(float) * D);
        SITE(rm_site(l, RM_SITE_TOK_LIN), f->t0, (size_t)T * D);
        chan_affine(f->t0, f->t0, f->tok[l].a2_w, f->tok[l].a2_b, N, D);
        SITE(rm_site(l, RM_SITE_TOK_A2), f->t0, (size_t)T * D);
        chan_affine(f->t1, xin, f->tok[l].res_w, f->tok[l].res_b, N, D);
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < nd; i++) xmid[i] = f->t0[i] + f->t1[i];
        SITE(rm_site(l, RM_SITE_MID), xmid, (size_t)T * D);
        /* channel MLP */
        const float *a1 = xmid;
        if (f->has_act1) {
            chan_affine(f->t0, xmid, f->mlp[l].in_w, f->mlp[l].in_b, N, D);
            rm_act_forward(&c->act, D, f->mlp[l].act1, f->actwork[l][0], f->t0, f->t1, N);
            a1 = f->t1;
            SITE(rm_site(l, RM_SITE_ACT1), a1, (size_t)T * D);
        }
        linear_forward(f->h0, a1, f->mlp[l].fc1_w, f->mlp[l].fc1_b, N, D, H);
        SITE(rm_site(l, RM_SITE_FC1), f->h0, (size_t)T * H);
        rm_act_forward(&c->act, H, f->mlp[l].act2, f->actwork[l][1], f->h0, f->h1, N);
        if (c->act.kind == RM_ACT_RELU) SITE(rm_site(l, RM_SITE_ACT2_IN), f->h1, (size_t)T * H);
        else SITE(rm_site(l, RM_SITE_ACT2_IN), f->h0, (size_t)T * H);
        SITE(rm_site(l, RM_SITE_ACT2), f->h1, (size_t)T * H);
        linear_forward(f->t0, f->h1, f->mlp[l].fc2_w, f->mlp[l].fc2_b, N, H, D);
        SITE(rm_site(l, RM_SITE_FC2), f->t0, (size_t)T * D);
        chan_affine(f->t1, xmid, f->mlp[l].res_w, f->mlp[l].res_b, N, D);
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < nd; i++) xout[i] = f->t0[i] + f->t1[i];
        SITE(rm_site(l, RM_SITE_XOUT), xout, (size_t)T * D);
    }
    meanpool_forward(f->pooled, f->xs[2 * c->L], B, T, D);
    SITE(RM_SITE_POOL, f->pooled, (size_t)D);
    linear_forward(f->logits, f->pooled, f->cls_w, f->cls_b, B, D, c->K);
    SITE(RM_SITE_LOGITS, f->logits, (size_t)c->K);
#undef SITE
    for (size_t i = 0; i < (size_t)B * c->K; i++)
        if (!isfinite(f->logits[i])) return rm_err(ctx, "folded forward: non-finite logit at sample %zu", i / c->K);
    return RM_OK;
}
