/* quant_io.c - the quantised model file (safetensors: int8 network + float fake-quant state + metadata),
 * `verify` (integer engine vs fake-quant vs fp32, every sublayer output compared) and the activation
 * curves for plots. See quant.h. */
#include "quant.h"
#include "lut_edge.h"
#include "quant_impl.h"
#include "safetensors.h"
#include "layers.h"
#include "prune.h"
#include "wlayers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensor lists ---------------------------------------------------------------------------- */

typedef struct { rm_st_tensor *t; int n, cap; char (*names)[160]; } tlist;

static int tl_add(tlist *L, const char *name, int dtype, int ndim, int64_t d0, int64_t d1, void *data) {
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 256;
        rm_st_tensor *t = realloc(L->t, sizeof *t * cap);
        if (!t) return -1;
        L->t = t;
        L->cap = cap;
    }
    rm_st_tensor *x = &L->t[L->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->dtype = dtype; x->ndim = ndim; x->shape[0] = d0; x->shape[1] = d1;
    x->data = data;
    x->nbytes = (size_t)rm_dtype_size(dtype) * d0 * (ndim > 1 ? d1 : 1);
    return 0;
}

static int lin_tensors(tlist *L, const char *prefix, rm_qlin *l, int affine) {
    char nm[160];
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    if (tl_add(L, nm, RM_I8, affine ? 1 : 2, l->OC, l->IC, l->w)) return -1;
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    if (tl_add(L, nm, RM_I8, 1, l->OC, 0, l->b)) return -1;
    snprintf(nm, sizeof nm, "%s.shift", prefix);
    return tl_add(L, nm, RM_I8, 1, l->OC, 0, l->k);
}

/* every int8 tensor of the integer network, named */
static int net_tensors(tlist *L, rm_qnet *n) {
    char nm[160];
    if (tl_add(L, "int.input.lut", RM_I8, 2, n->img_c, 256, n->pix_lut)) return -1;
    if (lin_tensors(L, "int.embed", &n->embed, 0)) return -1;
    for (int l = 0; l < n->L; l++) {
        rm_qblock *b = &n->blk[l];
        struct { const char *s; rm_qlin *q; int aff; } ls[7] = {
            {"tok.affine_1", &b->a1, 1}, {"tok.linear", &b->lin, 0}, {"tok.affine_2", &b->a2, 1}, {"tok.res_affine", &b->res, 1},
            {"mlp.res_affine", &b->res2, 1}, {"mlp.linear_1", &b->fc1, 0}, {"mlp.linear_2", &b->fc2, 0}};
        for (int i = 0; i < 7; i++) {
            snprintf(nm, sizeof nm, "int.layers.%d.%s", l, ls[i].s);
            if (lin_tensors(L, nm, ls[i].q, ls[i].aff)) return -1;
        }
        for (int s = 0; s < 2; s++) {
            int8_t *t = s ? b->lut2 : b->lut1, *t64 = s ? b->lut2_64 : b->lut1_64;
            int C = s ? n->H : n->D;
            if (!t) continue;
            snprintf(nm, sizeof nm, "int.layers.%d.mlp.act_%d.lut", l, s + 1);
            if (tl_add(L, nm, RM_I8, 2, C, 256, t)) return -1;
            if (t64) {
                snprintf(nm, sizeof nm, "int.layers.%d.mlp.act_%d.lut64", l, s + 1);
                if (tl_add(L, nm, RM_I8, 2, C, 64, t64)) return -1;
                snprintf(nm, sizeof nm, "int.layers.%d.mlp.act_%d.lut64_edge", l, s + 1);
                if (tl_add(L, nm, RM_I8, 1, C, 0, s ? b->lut2_e : b->lut1_e)) return -1;
            }
        }
    }
    return lin_tensors(L, "int.classifier", &n->cls, 0);
}

/* the SIMD-block prunable linears (prune.h): file prefix, float weight name (wlayers.c), kind and index */
typedef struct { char prefix[64], wname[96]; rm_qlin *l; int kind, index; } plin;
static int prunable(rm_qnet *n, plin *out) {
    int k = 0, learned = rm_act_has_params(n->act);
    out[k++] = (plin){"int.embed", "embed_linear.weight", &n->embed, RM_WL_EMBED, -1};
    for (int l = 0; l < n->L; l++) {
        out[k] = (plin){"", "", &n->blk[l].lin, RM_WL_TOK, l};
        snprintf(out[k].prefix, sizeof out[k].prefix, "int.layers.%d.tok.linear", l);
        snprintf(out[k++].wname, sizeof out[0].wname, "layers.%d.layers.0.layers.weight", l);
        out[k] = (plin){"", "", &n->blk[l].fc1, RM_WL_FC1, l};
        snprintf(out[k].prefix, sizeof out[k].prefix, "int.layers.%d.mlp.linear_1", l);
        snprintf(out[k++].wname, sizeof out[0].wname, "layers.%d.layers.1.layers.%d.weight", l, learned ? 1 : 0);
        out[k] = (plin){"", "", &n->blk[l].fc2, RM_WL_FC2, l};
        snprintf(out[k].prefix, sizeof out[k].prefix, "int.layers.%d.mlp.linear_2", l);
        snprintf(out[k++].wname, sizeof out[0].wname, "layers.%d.layers.1.layers.%d.weight", l, learned ? 3 : 2);
    }
    out[k++] = (plin){"int.classifier", "classifier.weight", &n->cls, RM_WL_CLS, n->L};
    return k;
}
#define RM_NPLIN (2 + 3 * RM_MAXL)

/* ---- save ------------------------------------------------------------------------------------ */

#define NMETA 32

int rm_qmodel_save(rm_ctx *ctx, const char *path, rm_qmodel *q, const rm_qnet *netin) {
    rm_qnet *net = (rm_qnet *)netin, *own = NULL;
    if (!net) {
        if (rm_quant_export(ctx, q, &own)) return RM_ERR;
        net = own;
    }
    const rm_model_cfg *c = &q->f->cfg;
    tlist L = {0};
    char (*names)[160] = calloc((size_t)q->f->ntensors + q->nq + q->nl, 160);
    float *A1 = calloc(q->nq, sizeof(float));
    int st = RM_ERR, k = 0;
    plin pl[RM_NPLIN];
    int npl = prunable(net, pl);
    size_t pcap = 0;
    for (int i = 0; i < npl; i++) pcap += pl[i].l->pruned ? 2 + (size_t)(pl[i].l->IC / pl[i].l->simd) : 0;
    int32_t *pbuf = malloc(sizeof(int32_t) * (pcap + 1));
    char (*pnames)[160] = calloc(2 * (size_t)npl, 160);
    if (!names || !A1 || !pbuf || !pnames || net_tensors(&L, net)) { rm_err(ctx, "%s: out of memory", path); goto done; }
    /* SIMD-block pruning masks: {SIMD, blocks} and the pruned block list per pruned linear (prune.h) */
    for (int i = 0, off = 0; i < npl; i++) {
        const rm_qlin *l = pl[i].l;
        int nb = l->pruned ? l->IC / l->simd : 0, np = l->pruned ? rm_prune_st_fill(l->simd, nb, l->pruned, pbuf + off) : 0;
        if (!np) continue;
        snprintf(pnames[2 * i], 160, "%.120s.prune", pl[i].prefix);
        snprintf(pnames[2 * i + 1], 160, "%.120s.pruned_blocks", pl[i].prefix);
        if (tl_add(&L, pnames[2 * i], RM_I32, 1, 2, 0, pbuf + off) || tl_add(&L, pnames[2 * i + 1], RM_I32, 1, np, 0, pbuf + off + 2)) goto oom;
        off += 2 + nb;
    }
    for (int i = 0; i < q->f->ntensors; i++) {
        const rm_ptensor *t = &q->f->tensors[i];
        snprintf(names[k], 160, "fold.%s", t->name);
        if (tl_add(&L, names[k++], RM_F32, t->ndim, t->shape[0], t->shape[1], q->f->mem + t->off)) goto oom;
    }
    for (int i = 0; i < q->nq; i++) {
        if (!q->qp_used[i]) continue;
        char pn[64];
        rm_qp_name(c->L, i, pn, sizeof pn);
        A1[i] = q->A[i];
        snprintf(names[k], 160, "quant.%s.abs_max", pn);
        if (tl_add(&L, names[k++], RM_F32, 1, 1, 0, &A1[i])) goto oom;
    }
    for (int i = 0; i < q->nl; i++) {
        snprintf(names[k], 160, "quant.%s.sw", q->layer[i].name);
        if (tl_add(&L, names[k++], RM_F32, 1, q->layer[i].OC, 0, q->layer[i].sw)) goto oom;
    }
    {
        const char *keys[NMETA];
        char vals[NMETA][96];
        const char *vp[NMETA];
        int m = 0;
#define META(key, ...) (keys[m] = key, snprintf(vals[m], sizeof vals[m], __VA_ARGS__), m++)
        META("format", "resmlp-int8-1");
        META("act", "%s", rm_act_name(c->act.kind));
        META("hidden", "%d", c->H); META("embed", "%d", c->D); META("layers", "%d", c->L); META("tokens", "%d", c->T);
        META("patch_dim", "%d", c->P); META("classes", "%d", c->K); META("patch", "%d", c->patch);
        META("image_c", "%d", q->img_c); META("image_h", "%d", q->img_h); META("image_w", "%d", q->img_w);
        META("lut", "%d", q->lut64 ? 64 : 256); META("pool_shift", "%d", q->pool_shift);
        META("lut_edge", "%s", rm_lut_edge_name(q->lut_edge));
        META("psa_keys", "%d", c->act.E); META("psa_eps", "%.9g", c->act.eps); META("lerp_grid", "%d", c->act.G);
        META("lerp_range", "%.9g", c->act.R); META("spline_size", "%d", c->act.K); META("spline_spacing", "%.9g", c->act.spacing);
        META("mean", "%.9g,%.9g,%.9g,%.9g", q->mean[0], q->mean[1], q->mean[2], q->mean[3]);
        META("std", "%.9g,%.9g,%.9g,%.9g", q->std[0], q->std[1], q->std[2], q->std[3]);
#undef META
        for (int i = 0; i < m; i++) vp[i] = vals[i];
        st = rm_st_save(ctx, path, L.t, L.n, keys, vp, m);
    }
    goto done;
oom:
    rm_err(ctx, "%s: out of memory", path);
done:
    free(L.t); free(names); free(A1); free(pbuf); free(pnames);
    rm_qnet_free(own);
    return st;
}

/* ---- load ------------------------------------------------------------------------------------ */

static int meta_i(rm_ctx *ctx, const rm_st_file *f, const char *path, const char *key, int def, int *out) {
    const char *v = rm_st_meta(f, key);
    if (!v) { *out = def; return RM_OK; }
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < -1000000 || x > 1000000) return rm_err(ctx, "%s: metadata %s='%s' is not an integer", path, key, v);
    *out = (int)x;
    return RM_OK;
}
static int meta_f(rm_ctx *ctx, const rm_st_file *f, const char *path, const char *key, float def, float *out) {
    const char *v = rm_st_meta(f, key);
    if (!v) { *out = def; return RM_OK; }
    char *end;
    float x = strtof(v, &end);
    if (!*v || *end) return rm_err(ctx, "%s: metadata %s='%s' is not a number", path, key, v);
    *out = x;
    return RM_OK;
}
static void meta_list(const rm_st_file *f, const char *key, float *out, int n) {
    const char *v = rm_st_meta(f, key);
    for (int i = 0; i < n && v && *v; i++) {
        char *end;
        out[i] = strtof(v, &end);
        v = *end == ',' ? end + 1 : end;
    }
}

/* add layer pl's mask to fo->prune (created on the first call) */
static int prune_add(rm_ctx *ctx, rm_folded *fo, const plin *pl, int simd, const uint8_t *mask) {
    if (!fo->prune && !(fo->prune = calloc(1, sizeof *fo->prune))) return rm_err(ctx, "out of memory");
    rm_prune *p = fo->prune;
    if (p->n >= RM_MAX_WLAYERS) return rm_err(ctx, "too many pruned layers");
    rm_prune_layer *L = &p->l[p->n];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", pl->wname);
    L->rows = pl->l->OC; L->cols = pl->l->IC; L->simd = simd; L->kind = pl->kind; L->index = pl->index;
    L->nblocks = L->cols / simd;
    if (!(L->mask = malloc((size_t)L->nblocks))) return rm_err(ctx, "out of memory");
    memcpy(L->mask, mask, (size_t)L->nblocks);
    for (int b = 0; b < L->nblocks; b++) L->npruned += mask[b] != 0;
    p->n++;
    return RM_OK;
}

int rm_qmodel_load(rm_ctx *ctx, const char *path, rm_qmodel **qout, rm_qnet **netout) {
    if (qout) *qout = NULL;
    if (netout) *netout = NULL;
    rm_st_file f = {0};
    if (rm_st_load(ctx, path, &f)) return RM_ERR;
    int st = RM_ERR;
    rm_qnet *net = NULL;
    rm_folded *fo = NULL;
    rm_qmodel *q = NULL;
    tlist L = {0};
    plin pl[RM_NPLIN];
    int npl = 0, psimd[RM_NPLIN] = {0};
    uint8_t *pmask[RM_NPLIN] = {0};
    const char *fmt = rm_st_meta(&f, "format"), *act = rm_st_meta(&f, "act");
    if (!fmt || strcmp(fmt, "resmlp-int8-1")) { rm_err(ctx, "%s: not a quantised resmlp model (format '%s')", path, fmt ? fmt : "none"); goto done; }
    int kind = act ? rm_act_kind_from_name(act) : -1;
    if (kind < 0) { rm_err(ctx, "%s: unknown activation '%s'", path, act ? act : "none"); goto done; }
    rm_model_cfg c = rm_model_default_cfg(kind, 96);
    int ic = 3, ih = 32, iw = 32, lut = 64, ps = -1;
    if (meta_i(ctx, &f, path, "hidden", 0, &c.H) || meta_i(ctx, &f, path, "embed", 96, &c.D) ||
        meta_i(ctx, &f, path, "layers", 4, &c.L) || meta_i(ctx, &f, path, "tokens", 64, &c.T) ||
        meta_i(ctx, &f, path, "patch_dim", 48, &c.P) || meta_i(ctx, &f, path, "classes", 10, &c.K) ||
        meta_i(ctx, &f, path, "patch", 4, &c.patch) || meta_i(ctx, &f, path, "image_c", 3, &ic) ||
        meta_i(ctx, &f, path, "image_h", 32, &ih) || meta_i(ctx, &f, path, "image_w", 32, &iw) ||
        meta_i(ctx, &f, path, "lut", 64, &lut) || meta_i(ctx, &f, path, "pool_shift", -1, &ps) ||
        meta_i(ctx, &f, path, "psa_keys", 8, &c.act.E) || meta_f(ctx, &f, path, "psa_eps", 1.0f, &c.act.eps) ||
        meta_i(ctx, &f, path, "lerp_grid", 64, &c.act.G) || meta_f(ctx, &f, path, "lerp_range", 4.0f, &c.act.R) ||
        meta_i(ctx, &f, path, "spline_size", 65, &c.act.K) || meta_f(ctx, &f, path, "spline_spacing", 0.125f, &c.act.spacing))
        goto done;
    if (lut != 64 && lut != 256) { rm_err(ctx, "%s: metadata lut=%d (must be 64 or 256)", path, lut); goto done; }
    if (rm_qnet_new(ctx, &net, c.T, c.P, c.D, c.H, c.L, c.K, ic, ih, iw, c.patch, kind, lut == 64)) { rm_errprefix(ctx, "%s", path); goto done; }
    if (ps >= 0 && ps != net->pool_shift) { rm_err(ctx, "%s: pool_shift %d, expected %d", path, ps, net->pool_shift); goto done; }
    {
        const char *ev = rm_st_meta(&f, "lut_edge");   /* files from before lut_edge: clamp */
        net->lut_edge = ev ? rm_lut_edge_from_name(ev) : RM_LUT_EDGE_CLAMP;
        if (net->lut_edge < 0) { rm_err(ctx, "%s: metadata lut_edge='%s' (extend, paper_hls or clamp)", path, ev); goto done; }
    }
    if (net_tensors(&L, net)) { rm_err(ctx, "%s: out of memory", path); goto done; }
    for (int i = 0; i < L.n; i++) {
        const void *d;
        /* the 256-entry tables are derived from the 64-entry ones in lut64 mode */
        if (net->lut64 && strstr(L.t[i].name, ".lut") && !strstr(L.t[i].name, ".lut64") && !rm_st_find(&f, L.t[i].name)) continue;
        /* files from before lut_edge have no edge entries (their mode, clamp, reads none) */
        if (strstr(L.t[i].name, ".lut64_edge") && !rm_st_find(&f, L.t[i].name)) {
            if (net->lut_edge == RM_LUT_EDGE_PAPER_HLS) { rm_err(ctx, "%s: lut_edge=paper_hls but no %s", path, L.t[i].name); goto done; }
            continue;
        }
        if (rm_st_get(ctx, &f, L.t[i].name, RM_I8, L.t[i].ndim, L.t[i].shape, &d)) goto done;
        memcpy((void *)L.t[i].data, d, L.t[i].nbytes);
    }
    /* SIMD-block pruning masks: checked (SIMD, block count, block list, zero codes in the pruned blocks) and
     * put on the network, so the engines skip exactly the blocks the saved network skipped */
    npl = prunable(net, pl);
    for (int i = 0; i < npl; i++) {
        const char *label = pl[i].prefix + 4;   /* without "int." */
        if (rm_prune_st_read(ctx, &f, pl[i].prefix, label, pl[i].l->IC, &psimd[i], &pmask[i])) { rm_errprefix(ctx, "%s", path); goto done; }
        if (pmask[i] && rm_qnet_set_pruned(ctx, net, pl[i].l, psimd[i], pmask[i])) { rm_errprefix(ctx, "%s: %s", path, label); goto done; }
    }
    if (rm_qnet_prepare(ctx, net)) { rm_errprefix(ctx, "%s", path); goto done; }
    if (qout) {
        if (!rm_st_find(&f, "fold.embed.weight")) { rm_err(ctx, "%s: no float state (fold.*) in this file", path); goto done; }
        if (rm_fold_new(ctx, &fo, &c)) { rm_errprefix(ctx, "%s", path); goto done; }
        for (int i = 0; i < fo->ntensors; i++) {
            const rm_ptensor *t = &fo->tensors[i];
            char nm[160];
            const void *d;
            snprintf(nm, sizeof nm, "fold.%s", t->name);
            if (rm_st_get(ctx, &f, nm, RM_F32, t->ndim, t->shape, &d)) goto done;
            memcpy(fo->mem + t->off, d, t->n * sizeof(float));
        }
        rm_dataset shape = {.c = ic, .h = ih, .w = iw};
        meta_list(&f, "mean", shape.mean, 3);
        meta_list(&f, "std", shape.std, 3);
        for (int i = 0; i < npl; i++)   /* the masks on the float state too: QAT keeps the pruned weights 0 */
            if (pmask[i] && prune_add(ctx, fo, &pl[i], psimd[i], pmask[i])) { rm_errprefix(ctx, "%s", path); goto done; }
        rm_folded *fown = fo;
        fo = NULL;
        if (rm_qmodel_new(ctx, &q, fown, lut == 64, &shape)) { rm_errprefix(ctx, "%s", path); goto done; }
        q->lut_edge = net->lut_edge;
        float m4[4] = {q->mean[0], q->mean[1], q->mean[2], q->mean[3]}, s4[4] = {q->std[0], q->std[1], q->std[2], q->std[3]};
        meta_list(&f, "mean", m4, 4);
        meta_list(&f, "std", s4, 4);
        memcpy(q->mean, m4, sizeof m4);
        memcpy(q->std, s4, sizeof s4);
        for (int i = 0; i < q->nq; i++) {
            if (!q->qp_used[i]) continue;
            char pn[64], nm[160];
            const void *d;
            int64_t one = 1;
            rm_qp_name(c.L, i, pn, sizeof pn);
            snprintf(nm, sizeof nm, "quant.%s.abs_max", pn);
            if (rm_st_get(ctx, &f, nm, RM_F32, 1, &one, &d)) goto done;
            memcpy(&q->A[i], d, sizeof(float));
        }
        rm_qlin *ql[RM_QL_MAX];
        ql[rm_ql_embed()] = &net->embed;
        ql[rm_ql_cls(c.L)] = &net->cls;
        for (int l = 0; l < c.L; l++) {
            rm_qblock *b = &net->blk[l];
            ql[rm_ql_block(l, RM_QL_TOK_A1)] = &b->a1; ql[rm_ql_block(l, RM_QL_TOK_LIN)] = &b->lin;
            ql[rm_ql_block(l, RM_QL_TOK_A2)] = &b->a2; ql[rm_ql_block(l, RM_QL_TOK_RES)] = &b->res;
            ql[rm_ql_block(l, RM_QL_MLP_RES)] = &b->res2; ql[rm_ql_block(l, RM_QL_FC1)] = &b->fc1;
            ql[rm_ql_block(l, RM_QL_FC2)] = &b->fc2;
        }
        for (int i = 0; i < q->nl; i++) {
            rm_qlayer *y = &q->layer[i];
            char nm[160];
            const void *d;
            int64_t oc = y->OC;
            snprintf(nm, sizeof nm, "quant.%s.sw", y->name);
            if (rm_st_get(ctx, &f, nm, RM_F32, 1, &oc, &d)) goto done;
            memcpy(y->sw, d, sizeof(float) * y->OC);
            for (int o = 0; o < y->OC; o++) y->k[o] = ql[i]->k[o];
        }
    }
    st = RM_OK;
done:
    free(L.t);
    for (int i = 0; i < npl; i++) free(pmask[i]);
    rm_folded_free(fo);
    rm_st_free(&f);
    if (st == RM_OK) {
        if (qout) *qout = q; else rm_qmodel_free(q);
        if (netout) *netout = net; else rm_qnet_free(net);
    } else {
        rm_qmodel_free(q);
        rm_qnet_free(net);
    }
    return st;
}

/* ---- verify ---------------------------------------------------------------------------------- */

static int lut_err_all(rm_qmodel *q) {
    const rm_model_cfg *c = &q->f->cfg;
    int e = 0, err[RM_MAXC];
    for (int l = 0; l < c->L; l++)
        for (int s = 0; s < 2; s++) {
            int C = rm_quant_lut_errors(q, l, s, err);
            for (int i = 0; i < C; i++) e = err[i] > e ? err[i] : e;
        }
    return e;
}

int rm_quant_verify(rm_ctx *ctx, rm_qmodel *q, const rm_qnet *net, const rm_dataset *ds, int limit, int path,
                    int stat_images, rm_verify_report *rep) {
    memset(rep, 0, sizeof *rep);
    rep->first_mismatch = -1;
    const rm_model_cfg *c = &q->f->cfg;
    const int n = limit > 0 && limit < ds->n ? limit : ds->n, BB = 100, K = c->K;
    if (n < 1) return rm_err(ctx, "verify: no images in %s", ds->name);
    if (ds->c != net->img_c || ds->h != net->img_h || ds->w != net->img_w || net->K != K || net->T != c->T || net->D != c->D)
        return rm_err(ctx, "verify: data set, network and model do not fit together");
    const size_t chw = (size_t)ds->c * ds->h * ds->w, dst = (size_t)2 * c->L * c->T * c->D;
    int *idx = malloc(sizeof(int) * BB);
    int8_t *zf = malloc((size_t)BB * K), *zi = malloc((size_t)BB * K), *df = malloc(BB * dst), *di = malloc(BB * dst);
    int8_t *zall = malloc((size_t)n * K);
    float *zv = malloc(sizeof(float) * BB * K), *xf = malloc(sizeof(float) * BB * c->T * c->P);
    int st = RM_ERR;
    if (!idx || !zf || !zi || !df || !di || !zall || !zv || !xf) { rm_err(ctx, "verify: out of memory"); goto done; }
    rep->path = rm_ie_resolve(net, path);
    float sz = rm_qmodel_scale(q, rm_qp_logits(c->L));
    double s1 = 0, s2 = 0, f1 = 0, f2 = 0;
    long cnt = 0;
    for (int s0 = 0; s0 < n; s0 += BB) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "verify interrupted"); goto done; }
        int B = n - s0 < BB ? n - s0 : BB;
        for (int i = 0; i < B; i++) idx[i] = s0 + i;
        if (rm_fq_forward(ctx, q, ds, idx, B, RM_AUG_NONE, 0, 0, zf, zv, df, xf)) goto done;
        if (rm_ie_run(ctx, net, path, ds->pixels + (size_t)s0 * chw, B, zi, di)) goto done;
        if (rm_folded_forward(ctx, q->f, xf, B, NULL)) goto done;
        for (int i = 0; i < B; i++) {
            int lab = ds->labels[s0 + i];
            long bad = 0;
            for (size_t j = 0; j < dst; j++) bad += df[(size_t)i * dst + j] != di[(size_t)i * dst + j];
            int lbad = memcmp(zf + (size_t)i * K, zi + (size_t)i * K, K) != 0;
            rep->block_mismatch += bad;
            rep->logit_mismatch_images += lbad;
            if ((bad || lbad) && rep->first_mismatch < 0) rep->first_mismatch = s0 + i;
            rep->int_correct += rm_ie_argmax(zi + (size_t)i * K, K) == lab;
            rep->fq_correct += rm_ie_argmax(zf + (size_t)i * K, K) == lab;
            const float *fp = q->f->logits + (size_t)i * K;
            int bf = 0;
            for (int k = 1; k < K; k++) if (fp[k] > fp[bf]) bf = k;
            rep->fp_correct += bf == lab;
            for (int k = 0; k < K; k++) {
                double e = fabs((double)zi[(size_t)i * K + k] / sz - (double)zf[(size_t)i * K + k] / sz);
                double g = fabs((double)zv[(size_t)i * K + k] - fp[k]);
                s1 += e; s2 += e * e; f1 += g; f2 += g * g; cnt++;
                if (e > rep->err_max) rep->err_max = e;
                if (g > rep->fp_err_max) rep->fp_err_max = g;
            }
        }
    }
    rep->n = n;
    rep->err_mean = s1 / cnt;
    rep->err_std = sqrt(fmax(0, s2 / cnt - rep->err_mean * rep->err_mean));
    rep->fp_err_mean = f1 / cnt;
    rep->fp_err_std = sqrt(fmax(0, f2 / cnt - rep->fp_err_mean * rep->fp_err_mean));
    double t0 = rm_now();
    if (rm_ie_run(ctx, net, path, ds->pixels, n, zall, NULL)) goto done;
    rep->int_imgs_per_s = n / fmax(rm_now() - t0, 1e-9);
    rep->stat_images = stat_images < 0 ? 0 : stat_images > n ? n : stat_images;
    if (rep->stat_images && rm_ie_stats(ctx, net, ds->pixels, rep->stat_images, rep->stat, &rep->nstat)) goto done;
    rep->lut_err_max = lut_err_all(q);
    rep->lut_edge = net->lut_edge;
    if (net->lut64) {
        rm_lut_edge_report er;
        int ne = rep->stat_images > 0 ? rep->stat_images : n < 100 ? n : 100;
        if (rm_lut_edge_errors(ctx, q, net, ds->pixels, ne, &er)) goto done;
        rep->edge_images = er.images; rep->edge_lookups = er.lookups; rep->edge_top = er.top;
        for (int e = 0; e < RM_LUT_EDGE_N; e++) {
            rep->edge_wrong[e] = er.wrong[e]; rep->edge_mean[e] = er.mean[e];
            rep->edge_top_mean[e] = er.top_mean[e]; rep->edge_max[e] = er.max[e];
        }
    }
    st = RM_OK;
done:
    free(idx); free(zf); free(zi); free(df); free(di); free(zall); free(zv); free(xf);
    return st;
}

int rm_quant_verify_text(const rm_verify_report *r, char *buf, size_t cap) {
    size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + (k < cap ? k : cap), k < cap ? cap - k : 0, __VA_ARGS__))
    double n = r->n > 0 ? r->n : 1;
    PUT("verify on %d images (integer engine: %s, %.0f images/s)\n", r->n, rm_ie_path_name(r->path), r->int_imgs_per_s);
    PUT("  accuracy: integer %.2f%%, fake-quant %.2f%%, fp32 (folded) %.2f%%\n", 100 * r->int_correct / n,
        100 * r->fq_correct / n, 100 * r->fp_correct / n);
    PUT("  integer vs fake-quant: %s (%d images with different logits, %ld differing int8 values in the sublayer outputs)\n",
        r->logit_mismatch_images || r->block_mismatch ? "MISMATCH" : "bit-exact", r->logit_mismatch_images, r->block_mismatch);
    if (r->first_mismatch >= 0) PUT("    first image with a difference: %d\n", r->first_mismatch);
    PUT("  |logit error| integer vs fake-quant: mean %.4g std %.4g max %.4g\n", r->err_mean, r->err_std, r->err_max);
    PUT("  |logit error| fake-quant vs fp32:    mean %.4g std %.4g max %.4g\n", r->fp_err_mean, r->fp_err_std, r->fp_err_max);
    PUT("  64-entry tables: max error %d codes against the 256-entry form\n", r->lut_err_max);
    if (r->edge_images) {
        PUT("  64-entry top segment (u >= 252), code error against the 256-entry tables on the activations of %d images:\n"
            "    %ld table reads, %ld (%.3f%%) in the top segment; the network uses lut_edge=%s\n", r->edge_images,
            r->edge_lookups, r->edge_top, r->edge_lookups ? 100.0 * r->edge_top / r->edge_lookups : 0.0,
            rm_lut_edge_name(r->lut_edge));
        for (int e = 0; e < RM_LUT_EDGE_N; e++)
            PUT("    %-9s mean |error| %.4f codes (top segment %.3f), max %d, %ld reads off the 256-entry code%s\n",
                rm_lut_edge_name(e), r->edge_mean[e], r->edge_top_mean[e], r->edge_max[e], r->edge_wrong[e],
                e == r->lut_edge ? "  <- used" : "");
    }
    if (r->nstat) {
        PUT("  per layer on %d images (reference engine): accumulator range, static bound, output range, saturated, overflow\n",
            r->stat_images);
        for (int i = 0; i < r->nstat; i++) {
            const rm_ie_stat *s = &r->stat[i];
            double sat = s->n ? 100.0 * (s->sat_lo + s->sat_hi) / s->n : 0;
            PUT("    %-24s [%9lld, %9lld]  bound %9lld  out [%4lld, %3lld]  sat %6.2f%% (%lld low, %lld high)  overflow %lld\n",
                s->name, (long long)s->acc_min, (long long)s->acc_max, (long long)s->acc_bound, (long long)s->out_min,
                (long long)s->out_max, sat, (long long)s->sat_lo, (long long)s->sat_hi, (long long)s->overflow);
        }
    }
#undef PUT
    return (int)(k < cap ? k : cap ? cap - 1 : 0);
}

/* ---- curves ---------------------------------------------------------------------------------- */

static int slot_ok(const rm_qmodel *q, int l, int slot) {
    if (l < 0 || l >= q->f->cfg.L || slot < 0 || slot > 1) return 0;
    return slot == 0 ? q->f->has_act1 : q->f->act2_lut;
}

/* tables of (l, slot) into freshly allocated arrays: tq (C,256) */
static float *slot_tables(rm_qmodel *q, int l, int slot, int C) {
    float *tq = malloc(sizeof(float) * 256 * C);
    float *work = malloc(sizeof(float) * 2 * 256 * C);
    int8_t *lut = malloc((size_t)256 * C);
    int ok = tq && work && lut;
    if (ok) rm_q_tables(q, l, slot, lut, NULL, NULL, tq, NULL, work);
    free(work);
    free(lut);
    if (!ok) { free(tq); return NULL; }
    return tq;
}

int rm_quant_curve(rm_qmodel *q, int l, int slot, int ch, float *x, float *y_fp, float *y256, float *y64) {
    if (!slot_ok(q, l, slot)) return -1;
    const rm_model_cfg *c = &q->f->cfg;
    int C = slot == 0 ? c->D : c->H;
    if (ch < 0 || ch >= C) return -1;
    float *tq = slot_tables(q, l, slot, C);
    if (!tq) return -1;
    float s_in = rm_qmodel_scale(q, slot == 0 ? rm_qp_block(c->L, l, RM_QP_MID) : rm_qp_block(c->L, l, RM_QP_H));
    float s_out = rm_qmodel_scale(q, slot == 0 ? rm_qp_block(c->L, l, RM_QP_P1) : rm_qp_block(c->L, l, RM_QP_P2));
    int8_t t256[256], t64[64];
    float y[256];
    for (int u = 0; u < 256; u++) y[u] = tq[(size_t)ch * 256 + u] / s_out;
    /* the table from the unrounded outputs, exactly as rm_lut_quantize rounds them */
    for (int u = 0; u < 256; u++) {
        double r = isnan(tq[(size_t)ch * 256 + u]) ? 0 : floor((double)tq[(size_t)ch * 256 + u] + 0.5);
        t256[u] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
    }
    rm_lut_subsample64(t256, t64);
    for (int u = 0; u < 256; u++) {
        if (x) x[u] = (float)(u - 128) / s_in;
        if (y_fp) y_fp[u] = y[u];
        if (y256) y256[u] = t256[u] / s_out;
        if (y64) y64[u] = rm_lut64_eval(t64, rm_lut_edge_entry(t256, t64, q->lut_edge), q->lut_edge, u - 128) / s_out;
    }
    free(tq);
    return rm_lut64_max_err(t256, q->lut_edge);
}

int rm_quant_lut_errors(rm_qmodel *q, int l, int slot, int *err) {
    if (!slot_ok(q, l, slot)) return -1;
    const rm_model_cfg *c = &q->f->cfg;
    int C = slot == 0 ? c->D : c->H;
    float *tq = slot_tables(q, l, slot, C);
    if (!tq) return -1;
    for (int ch = 0; ch < C; ch++) {
        int8_t t256[256];
        for (int u = 0; u < 256; u++) {
            double r = isnan(tq[(size_t)ch * 256 + u]) ? 0 : floor((double)tq[(size_t)ch * 256 + u] + 0.5);
            t256[u] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
        }
        err[ch] = rm_lut64_max_err(t256, q->lut_edge);
    }
    free(tq);
    return C;
}
