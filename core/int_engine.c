/* int_engine.c - the integer network container, the reference engine (slow, per element, int64 sums
 * checked against the int32 range: the obviously-correct version the fast engines are tested
 * against), the portable C engine, the packing for the vector engines, statistics and dispatch.
 * Integer arithmetic only: no float or double in this file (tests/e2e_nofloat.sh checks the object). */
#include "int_engine_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- container ------------------------------------------------------------------------------- */

typedef struct { uint8_t *base; size_t off; } arena;
static void *take(arena *a, size_t n) {
    void *p = a->base ? a->base + a->off : NULL;
    a->off += (n + 63) & ~(size_t)63;
    return p;
}
static void lin_take(arena *a, rm_qlin *l, int OC, int IC) {
    l->OC = OC; l->IC = IC;
    l->w = take(a, (size_t)OC * IC);
    l->b = take(a, (size_t)OC);
    l->k = take(a, (size_t)OC);
}
static void layout(arena *a, rm_qnet *q) {
    int D = q->D, H = q->H, T = q->T;
    lin_take(a, &q->embed, D, q->P);
    for (int l = 0; l < q->L; l++) {
        rm_qblock *b = &q->blk[l];
        lin_take(a, &b->a1, D, 1); lin_take(a, &b->lin, T, T); lin_take(a, &b->a2, D, 1); lin_take(a, &b->res, D, 1);
        lin_take(a, &b->res2, D, 1); lin_take(a, &b->fc1, H, D); lin_take(a, &b->fc2, D, H);
        b->lut1 = q->has_act1 ? take(a, (size_t)D * 256) : NULL;
        b->lut2 = !q->relu ? take(a, (size_t)H * 256) : NULL;
        b->lut1_64 = q->has_act1 && q->lut64 ? take(a, (size_t)D * 64) : NULL;
        b->lut2_64 = !q->relu && q->lut64 ? take(a, (size_t)H * 64) : NULL;
        b->lut1_e = q->has_act1 && q->lut64 ? take(a, (size_t)D) : NULL;
        b->lut2_e = !q->relu && q->lut64 ? take(a, (size_t)H) : NULL;
    }
    lin_take(a, &q->cls, q->K, D);
}

static int all_lins(rm_qnet *q, rm_qlin **all) {
    int nl = 0;
    all[nl++] = &q->embed; all[nl++] = &q->cls;
    for (int l = 0; l < q->L; l++) {
        rm_qblock *b = &q->blk[l];
        all[nl++] = &b->a1; all[nl++] = &b->lin; all[nl++] = &b->a2; all[nl++] = &b->res;
        all[nl++] = &b->res2; all[nl++] = &b->fc1; all[nl++] = &b->fc2;
    }
    return nl;
}

int rm_qnet_new(rm_ctx *ctx, rm_qnet **out, int T, int P, int D, int H, int L, int K, int img_c, int img_h,
                int img_w, int patch, int act, int lut64) {
    *out = NULL;
    if (T < 2 || T > 4096 || P < 1 || P > 1023 || D < 1 || D > 1023 || H < 1 || H > 1023 || L < 1 || L > RM_MAXL ||
        K < 2 || K > 256 || img_c < 1 || img_c > 4 || patch < 1 || img_h % patch || img_w % patch ||
        (img_h / patch) * (img_w / patch) != T || patch * patch * img_c != P || T > 1023)
        return rm_err(ctx, "integer network: unsupported shape T=%d P=%d D=%d H=%d L=%d K=%d image %dx%dx%d patch %d",
                      T, P, D, H, L, K, img_c, img_h, img_w, patch);
    rm_qnet *q = calloc(1, sizeof *q);
    if (!q) return rm_err(ctx, "integer network: out of memory");
    q->T = T; q->P = P; q->D = D; q->H = H; q->L = L; q->K = K;
    q->img_c = img_c; q->img_h = img_h; q->img_w = img_w; q->patch = patch;
    q->act = act; q->relu = act == RM_ACT_RELU; q->has_act1 = rm_act_has_params(act); q->lut64 = lut64 && act != RM_ACT_RELU;
    q->pool_shift = rm_pool_shift(T);
    arena a = {0};
    layout(&a, q);
    q->mem = aligned_alloc(64, a.off);
    if (!q->mem) { free(q); return rm_err(ctx, "integer network: out of memory (%zu bytes)", a.off); }
    memset(q->mem, 0, a.off);
    a = (arena){.base = q->mem};
    layout(&a, q);
    rm_qlin *all[3 + 7 * RM_MAXL];
    int nl = all_lins(q, all);
    for (int i = 0; i < nl; i++) memset(all[i]->k, 1, (size_t)all[i]->OC);
    *out = q;
    return RM_OK;
}

static void packed_free(struct rm_ie_packed *p) {
    if (!p) return;
    free(p->cmem);
    free(p->mem);
    free(p);
}

static void unprune(rm_qlin *l) {
    free(l->keep);
    l->keep = NULL; l->pruned = NULL; l->simd = l->nkeep = 0;
}

int rm_qnet_set_pruned(rm_ctx *ctx, rm_qnet *q, rm_qlin *l, int simd, const uint8_t *mask) {
    rm_qlin *all[3 + 7 * RM_MAXL];
    int nl = all_lins(q, all), found = 0;
    for (int i = 0; i < nl; i++) found |= all[i] == l;
    if (!found || l->IC == 1) return rm_err(ctx, "integer network: pruning masks go on embed, classifier, token or channel linears only");
    unprune(l);
    if (!mask) return RM_OK;
    if (simd < 1 || l->IC % simd) return rm_err(ctx, "integer network: SIMD %d does not divide the %d inputs of a pruned layer", simd, l->IC);
    int nb = l->IC / simd;
    for (int b = 0; b < nb; b++)
        for (int o = 0; mask[b] && o < l->OC; o++)
            for (int i = b * simd; i < (b + 1) * simd; i++)
                if (l->w[(size_t)o * l->IC + i])
                    return rm_err(ctx, "integer network: weight (%d, %d) = %d lies in pruned block %d (SIMD %d) but is not zero", o, i, l->w[(size_t)o * l->IC + i], b, simd);
    uint8_t *m = malloc((size_t)nb * (sizeof(int16_t) + 1));
    if (!m) return rm_err(ctx, "integer network: out of memory");
    l->keep = (int16_t *)m;
    l->pruned = m + (size_t)nb * sizeof(int16_t);
    l->simd = simd;
    for (int b = 0; b < nb; b++) {
        l->pruned[b] = mask[b] != 0;
        if (!mask[b]) l->keep[l->nkeep++] = (int16_t)b;
    }
    return RM_OK;
}

void rm_qnet_free(rm_qnet *q) {
    if (!q) return;
    rm_qlin *all[3 + 7 * RM_MAXL];
    int nl = all_lins(q, all);
    for (int i = 0; i < nl; i++) unprune(all[i]);
    packed_free(q->packed);
    free(q->mem);
    free(q);
}

/* ---- packing for the vector engines ---------------------------------------------------------- */

/* input i of l is in a kept block (dense: always) */
static int in_kept(const rm_qlin *l, int i) { return !l->pruned || !l->pruned[i / l->simd]; }
/* quads g of 4 inputs (input of quad byte r: ord ? ord(4g+r) : 4g+r) with a kept input */
static void glist_fill(rm_ie_glist *gl, const rm_qlin *l, int (*ord)(int)) {
    gl->n = 0;
    for (int g = 0; g < (l->IC + 3) / 4; g++) {
        int k = 0;
        for (int r = 0; r < 4; r++) {
            int i = ord ? ord(4 * g + r) : 4 * g + r;
            k |= i < l->IC && in_kept(l, i);
        }
        if (k) gl->g[gl->n++] = (int16_t)g;
    }
}
static int rho(int b) { return rm_ie_rho(b); }
/* the input ranges [*i0, *i1) of l's kept block k of nblk(l) (dense: one range of every input) */
static inline int nblk(const rm_qlin *l) { return l->keep ? l->nkeep : 1; }
static inline void blk_range(const rm_qlin *l, int k, int *i0, int *i1) {
    if (!l->keep) { *i0 = 0; *i1 = l->IC; return; }
    *i0 = l->keep[k] * l->simd; *i1 = *i0 + l->simd;
}
/* sum_i x[i] w[i] over the kept blocks of l */
static inline int32_t dot_kept(const rm_qlin *l, const int8_t *x, const int8_t *w) {
    int32_t s = 0;
    if (!l->keep) {
        for (int i = 0; i < l->IC; i++) s += x[i] * w[i];
        return s;
    }
    const int S = l->simd, nk = l->nkeep;
    for (int k = 0; k < nk; k++) {
        const int8_t *xb = x + (size_t)l->keep[k] * S, *wb = w + (size_t)l->keep[k] * S;
        for (int i = 0; i < S; i++) s += xb[i] * wb[i];
    }
    return s;
}


static int64_t rowsum(const int8_t *w, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += w[i]; return s; }

static void rq_fill(rm_ie_rq *r, const rm_qlin *l) {
    r->fold = 1;
    for (int o = 0; o < l->OC; o++) {
        r->corr[o] = (int32_t)(-128 * rowsum(l->w + (size_t)o * l->IC, l->IC));
        r->sh[o] = l->k[o] - 1;
        r->b2[o] = 2 * l->b[o] + 1;
        r->fold &= l->k[o] <= 22;
    }
    for (int o = 0; o < l->OC; o++)
        r->corrb[o] = r->fold ? (int32_t)(r->corr[o] + (int64_t)r->b2[o] * ((int64_t)1 << r->sh[o])) : r->corr[o];   /* b2 < 0 is common: a multiply, not a shift of a negative value (undefined) */
}
static void aff_fill(rm_ie_aff *r, const rm_qlin *l) {
    for (int o = 0; o < l->OC; o++) {
        int k = l->k[o], w = l->w[o];
        r->w[o] = w; r->sh[o] = k - 1; r->b2[o] = 2 * l->b[o] + 1; r->b[o] = l->b[o];
        int32_t m = k <= 15 ? w * (1 << (15 - k)) : 0;
        r->mh[o] = m >= -32768 && m <= 32767 ? m : 0;
    }
}
static int count_fix(const rm_qlin *l) {
    int n = 0;
    for (size_t i = 0; i < (size_t)l->OC * l->IC; i++) n += l->w[i] == -128;
    return n;
}
static void fix_fill(rm_ie_fix *f, const rm_qlin *l) {
    f->n = 0;
    for (int o = 0; o < l->OC; o++)
        for (int i = 0; i < l->IC; i++)
            if (l->w[(size_t)o * l->IC + i] == -128) { f->o[f->n] = o; f->i[f->n] = i; f->n++; }
}

/* two passes over the same sequence of allocations: sizes, then pointers */
static void pack_layout(arena *a, const rm_qnet *q, struct rm_ie_packed *p) {
    int D = q->D, H = q->H, T = q->T, P = q->P;
    p->in_off = take(a, sizeof(uint16_t) * (size_t)P * T);
    p->in_ch = take(a, (size_t)P * T);
#define RQ(r, n) ((r).corr = take(a, 4 * (size_t)(n)), (r).sh = take(a, 4 * (size_t)(n)), (r).b2 = take(a, 4 * (size_t)(n)), \
                  (r).corrb = take(a, 4 * (size_t)(n)))
#define AF(r, n) ((r).w = take(a, 4 * (size_t)(n)), (r).sh = take(a, 4 * (size_t)(n)), (r).b2 = take(a, 4 * (size_t)(n)), \
                  (r).mh = take(a, 4 * (size_t)(n)), (r).b = take(a, 4 * (size_t)(n)))
#define FX(f, l) ((f).n = count_fix(&(l)), (f).o = take(a, 4 * (size_t)(f).n + 4), (f).i = take(a, 4 * (size_t)(f).n + 4))
    RQ(p->embed, D); RQ(p->cls, q->K);
    FX(p->fix_embed, q->embed);
#define GL(gl, n) ((gl).g = take(a, 2 * (size_t)((n) / 4 + 1)))
    GL(p->gl_embed, P);
    for (int l = 0; l < q->L; l++) {
        p->blk[l].tokw = take(a, (size_t)T * T);
        p->blk[l].tokwv = take(a, (size_t)T * T);
        RQ(p->blk[l].tok, T);
        AF(p->blk[l].a1, D); AF(p->blk[l].a2, D); AF(p->blk[l].res, D); AF(p->blk[l].res2, D);
        RQ(p->blk[l].fc1, H); RQ(p->blk[l].fc2, D);
        p->blk[l].lut1v = q->has_act1 ? take(a, (size_t)D * 256) : NULL;
        p->blk[l].lut1g = q->has_act1 ? take(a, (size_t)D * 256 + 4) : NULL;
        p->blk[l].lut2v = !q->relu ? take(a, (size_t)H * 256) : NULL;
        p->blk[l].lut2g = !q->relu ? take(a, (size_t)H * 256 + 4) : NULL;
        FX(p->blk[l].fix_tok, q->blk[l].lin); FX(p->blk[l].fix_fc1, q->blk[l].fc1); FX(p->blk[l].fix_fc2, q->blk[l].fc2);
        GL(p->blk[l].gl_tok, T); GL(p->blk[l].gl_tokv, T); GL(p->blk[l].gl_fc1, D); GL(p->blk[l].gl_fc2, H);
    }
#undef GL
#undef RQ
#undef AF
#undef FX
}

static void lut_pack(uint8_t *v, int8_t *g, const int8_t *lut, int C) {
    for (int c = 0; c < C; c++)
        for (int x = -128; x < 128; x++) v[(size_t)c * 256 + (uint8_t)x] = (uint8_t)(lut[(size_t)c * 256 + x + 128] + 128);
    memcpy(g, lut, (size_t)C * 256);
    memset(g + (size_t)C * 256, 0, 4);
}

static size_t up64(size_t n) { return (n + 63) & ~(size_t)63; }
static int up32(int n) { return (n + 31) & ~31; }
/* the portable engine's compact copies of the pruned embed / fc1 / fc2 (int_engine_impl.h), one allocation */
static int compact_all(const rm_qnet *q, struct rm_ie_packed *p) {
    const rm_qlin *ls[1 + 2 * RM_MAXL];
    struct rm_ie_compact *cs[1 + 2 * RM_MAXL];
    int n = 0;
    ls[n] = &q->embed; cs[n++] = &p->cp_embed;
    for (int l = 0; l < q->L; l++) { ls[n] = &q->blk[l].fc1; cs[n++] = &p->cp_fc1[l]; ls[n] = &q->blk[l].fc2; cs[n++] = &p->cp_fc2[l]; }
    size_t sz = 0;
    for (int i = 0; i < n; i++)
        if (ls[i]->keep) sz += up64((size_t)ls[i]->nkeep * ls[i]->simd * sizeof(int16_t)) + up64((size_t)up32(ls[i]->nkeep * ls[i]->simd) * ls[i]->OC);
    if (!sz) return 0;
    uint8_t *m = aligned_alloc(64, sz);
    if (!m) return -1;
    p->cmem = m;
    for (int i = 0; i < n; i++) {
        const rm_qlin *l = ls[i];
        struct rm_ie_compact *c = cs[i];
        if (!l->keep) continue;
        int S = l->simd, nk = l->nkeep * S, nkp = up32(nk);
        c->nk = nk; c->nkp = nkp;
        c->ki = (int16_t *)m; m += up64((size_t)nk * sizeof(int16_t));
        c->wk = (int8_t *)m; m += up64((size_t)nkp * l->OC);
        for (int j = 0; j < nk; j++) c->ki[j] = (int16_t)(l->keep[j / S] * S + j % S);
        for (int o = 0; o < l->OC; o++)
            for (int j = 0; j < nkp; j++) c->wk[(size_t)o * nkp + j] = j < nk ? l->w[(size_t)o * l->IC + c->ki[j]] : 0;
    }
    return 0;
}

static int pack(rm_ctx *ctx, rm_qnet *q) {
    packed_free(q->packed);
    q->packed = NULL;
    struct rm_ie_packed *p = calloc(1, sizeof *p);
    if (!p) return rm_err(ctx, "integer network: out of memory packing");
    arena a = {0};
    pack_layout(&a, q, p);
    p->mem = aligned_alloc(64, a.off);
    if (!p->mem) { free(p); return rm_err(ctx, "integer network: out of memory packing (%zu bytes)", a.off); }
    memset(p->mem, 0, a.off);
    a = (arena){.base = p->mem};
    pack_layout(&a, q, p);
    const int T = q->T, P = q->P, c = q->img_c, pt = q->patch, gw = q->img_w / pt;
    p->vec_ok = T == 64 && q->D % 4 == 0 && q->H % 4 == 0 && P % 4 == 0 && (size_t)c * q->img_h * q->img_w <= 65535;
    for (int g = 0; g < P / 4 + (P % 4 != 0); g++)
        for (int t = 0; t < T; t++)
            for (int i = 0; i < 4; i++) {
                int f = 4 * g + i;
                size_t j = ((size_t)g * T + t) * 4 + i;
                if (f >= P || j >= (size_t)P * T) continue;
                int ch = f % c, kk = f / c, ky = kk / pt, kx = kk % pt, py = t / gw, px = t % gw;
                p->in_off[j] = (uint16_t)((size_t)ch * q->img_h * q->img_w + (size_t)(py * pt + ky) * q->img_w + px * pt + kx);
                p->in_ch[j] = (uint8_t)ch;
            }
    for (int ch = 0; ch < c; ch++)
        for (int v = 0; v < 256; v++) p->pixu[ch][v] = (uint8_t)(q->pix_lut[ch][v] + 128);
    rq_fill(&p->embed, &q->embed);
    rq_fill(&p->cls, &q->cls);
    fix_fill(&p->fix_embed, &q->embed);
    glist_fill(&p->gl_embed, &q->embed, NULL);
    for (int l = 0; l < q->L; l++) {
        const rm_qblock *b = &q->blk[l];
        for (int g = 0; g < T / 4; g++)
            for (int t = 0; t < T; t++)
                for (int i = 0; i < 4; i++) {
                    p->blk[l].tokw[((size_t)g * T + t) * 4 + i] = (uint8_t)b->lin.w[(size_t)t * T + 4 * g + i];
                    if (T == 64) p->blk[l].tokwv[((size_t)g * T + t) * 4 + i] = (uint8_t)b->lin.w[(size_t)t * T + rm_ie_rho(4 * g + i)];
                }
        rq_fill(&p->blk[l].tok, &b->lin);
        aff_fill(&p->blk[l].a1, &b->a1); aff_fill(&p->blk[l].a2, &b->a2);
        aff_fill(&p->blk[l].res, &b->res); aff_fill(&p->blk[l].res2, &b->res2);
        rq_fill(&p->blk[l].fc1, &b->fc1); rq_fill(&p->blk[l].fc2, &b->fc2);
        if (q->has_act1) lut_pack(p->blk[l].lut1v, p->blk[l].lut1g, b->lut1, q->D);
        if (!q->relu) lut_pack(p->blk[l].lut2v, p->blk[l].lut2g, b->lut2, q->H);
        fix_fill(&p->blk[l].fix_tok, &b->lin); fix_fill(&p->blk[l].fix_fc1, &b->fc1); fix_fill(&p->blk[l].fix_fc2, &b->fc2);
        glist_fill(&p->blk[l].gl_tok, &b->lin, NULL);
        if (T == 64) glist_fill(&p->blk[l].gl_tokv, &b->lin, rho);
        glist_fill(&p->blk[l].gl_fc1, &b->fc1, NULL); glist_fill(&p->blk[l].gl_fc2, &b->fc2, NULL);
    }
    if (compact_all(q, p)) { packed_free(p); return rm_err(ctx, "integer network: out of memory packing"); }
    q->packed = p;
    return RM_OK;
}

static int check_lin(rm_ctx *ctx, const rm_qlin *l, const char *what, int blk) {
    for (int o = 0; o < l->OC; o++)
        if (l->k[o] < 1 || l->k[o] > 30)
            return rm_err(ctx, "integer network: %s of block %d: shift %d of output %d outside 1..30", what, blk, l->k[o], o);
    for (int o = 0; l->pruned && o < l->OC; o++)
        for (int i = 0; i < l->IC; i++)
            if (!in_kept(l, i) && l->w[(size_t)o * l->IC + i])
                return rm_err(ctx, "integer network: %s of block %d: weight (%d, %d) in a pruned block is not zero", what, blk, o, i);
    return RM_OK;
}

int rm_qnet_prepare(rm_ctx *ctx, rm_qnet *q) {
    if (check_lin(ctx, &q->embed, "embed", -1) || check_lin(ctx, &q->cls, "classifier", q->L)) return RM_ERR;
    for (int l = 0; l < q->L; l++) {
        rm_qblock *b = &q->blk[l];
        if (check_lin(ctx, &b->a1, "tok.affine_1", l) || check_lin(ctx, &b->lin, "tok.linear", l) ||
            check_lin(ctx, &b->a2, "tok.affine_2", l) || check_lin(ctx, &b->res, "tok.res_affine", l) ||
            check_lin(ctx, &b->res2, "mlp.res_affine", l) || check_lin(ctx, &b->fc1, "mlp.linear_1", l) ||
            check_lin(ctx, &b->fc2, "mlp.linear_2", l))
            return RM_ERR;
        if (q->lut64) {
            if (q->lut_edge < 0 || q->lut_edge >= RM_LUT_EDGE_N) return rm_err(ctx, "integer network: lut_edge %d unknown", q->lut_edge);
            for (int s = 0; s < 2; s++) {
                int8_t *t64 = s ? b->lut2_64 : b->lut1_64, *e = s ? b->lut2_e : b->lut1_e, *t = s ? b->lut2 : b->lut1;
                int C = s ? q->H : q->D;
                if (!t64) continue;
                for (int c = 0; c < C; c++) {
                    const int8_t *l = t64 + (size_t)c * 64;
                    /* extend and clamp read no edge entry (0); paper_hls keeps the stored L256[254] */
                    if (q->lut_edge != RM_LUT_EDGE_PAPER_HLS) e[c] = rm_lut_edge_entry(NULL, l, q->lut_edge);
                    rm_lut64_expand(l, e[c], q->lut_edge, t + (size_t)c * 256);
                }
            }
        }
    }
    if (q->pool_shift < 1 || q->pool_shift > 30) return rm_err(ctx, "integer network: pool shift %d outside 1..30", q->pool_shift);
    return pack(ctx, q);
}

/* ---- path selection -------------------------------------------------------------------------- */

static const char *path_names[RM_IE_NPATHS] = {"auto", "reference", "portable", "avx2", "vnni", "amx"};
const char *rm_ie_path_name(int path) { return path >= 0 && path < RM_IE_NPATHS ? path_names[path] : "?"; }
int rm_ie_path_from_name(const char *name) {
    for (int i = 0; i < RM_IE_NPATHS; i++) if (!strcmp(name, path_names[i])) return i;
    if (!strcmp(name, "ref")) return RM_IE_REF;
    return -1;
}

static int g_force = -1; /* -1: not read yet */
void rm_ie_force_path(int path) { g_force = path > 0 && path < RM_IE_NPATHS ? path : 0; }
static int forced(void) {
    if (g_force < 0) {
        const char *e = getenv("RESMLP_INT_PATH");
        int p = e ? rm_ie_path_from_name(e) : 0;
        g_force = p > 0 ? p : 0;
    }
    return g_force;
}

int rm_ie_path_available(int path, const rm_qnet *q) {
    switch (path) {
    case RM_IE_AUTO: case RM_IE_REF: case RM_IE_PORTABLE: return 1;
    case RM_IE_AVX2: return rm_ie_cpu_avx2() && (!q || !q->packed || q->packed->vec_ok);
    case RM_IE_VNNI: return rm_ie_cpu_vnni() && (!q || !q->packed || q->packed->vec_ok);
    case RM_IE_AMX: return rm_ie_cpu_amx() && (!q || ((!q->packed || q->packed->vec_ok) && q->D % 16 == 0));
    default: return 0;
    }
}

const char *rm_ie_path_note(int path) {
    switch (path) {
    case RM_IE_AVX2: return rm_ie_cpu_avx2() ? "" : "this CPU has no AVX2";
    case RM_IE_VNNI: return rm_ie_cpu_vnni() ? "" : "this CPU has no AVX-512 VNNI + VBMI";
    case RM_IE_AMX: return rm_ie_amx_note();
    default: return "";
    }
}

int rm_ie_resolve(const rm_qnet *q, int path) {
    if (path == RM_IE_AUTO) path = forced();
    if (path != RM_IE_AUTO) return path;
    if (rm_ie_path_available(RM_IE_AMX, q)) return RM_IE_AMX;
    if (rm_ie_path_available(RM_IE_VNNI, q)) return RM_IE_VNNI;
    if (rm_ie_path_available(RM_IE_AVX2, q)) return RM_IE_AVX2;
    return RM_IE_PORTABLE;
}

int rm_ie_argmax(const int8_t *z, int K) {
    int best = 0;
    for (int k = 1; k < K; k++) if (z[k] > z[best]) best = k;
    return best;
}

/* ---- shared pieces --------------------------------------------------------------------------- */

void rm_ie_head(const rm_qnet *q, const int32_t *sums, int8_t *logits) {
    int8_t pooled[1024];
    for (int d = 0; d < q->D; d++) pooled[d] = (int8_t)rm_sat8(rm_rshift_round(sums[d], q->pool_shift));
    for (int k = 0; k < q->K; k++) {
        int32_t acc = dot_kept(&q->cls, pooled, q->cls.w + (size_t)k * q->D);
        logits[k] = (int8_t)rm_requant(acc, q->cls.k[k], q->cls.b[k]);
    }
}

void rm_ie_dump_transpose(const rm_qnet *q, const int8_t *cm, int8_t *dump) {
    const int D = q->D, T = q->T;
    for (int s = 0; s < 2 * q->L; s++)
        for (int d = 0; d < D; d++)
            for (int t = 0; t < T; t++) dump[((size_t)s * T + t) * D + d] = cm[((size_t)s * D + d) * T + t];
}

/* ---- reference engine ------------------------------------------------------------------------ */

/* statistics slots: 0 embed; block l at 1+9l: a1, lin, a2, res, add1, res2, fc1, fc2, add2; pool; cls */
enum { S_A1, S_LIN, S_A2, S_RES, S_ADD1, S_RES2, S_FC1, S_FC2, S_ADD2, S_PER };
static int nstats(const rm_qnet *q) { return 3 + S_PER * q->L; }

/* int64 accumulator -> requantised int8, with the int32 wrap-around the real engines would see */
static int32_t ref_rq(int64_t acc, int k, int b, rm_ie_stat *s) {
    int32_t a32 = (int32_t)(uint32_t)(uint64_t)acc;
    int32_t v = rm_rshift_round(a32, k) + b, y = rm_sat8(v);
    if (s) {
        s->n++;
        if (acc < s->acc_min) s->acc_min = acc;
        if (acc > s->acc_max) s->acc_max = acc;
        if (acc < INT32_MIN || acc > INT32_MAX) s->overflow++;
        if (y < s->out_min) s->out_min = y;
        if (y > s->out_max) s->out_max = y;
        s->sat_lo += v < -128;
        s->sat_hi += v > 127;
    }
    return y;
}
static int32_t ref_add(int32_t a, int32_t b, rm_ie_stat *s) {
    int32_t v = a + b, y = rm_sat8(v);
    if (s) {
        s->n++;
        if (v < s->acc_min) s->acc_min = v;
        if (v > s->acc_max) s->acc_max = v;
        if (y < s->out_min) s->out_min = y;
        if (y > s->out_max) s->out_max = y;
        s->sat_lo += v < -128;
        s->sat_hi += v > 127;
    }
    return y;
}
static int32_t ref_lut(const rm_qnet *q, const int8_t *l256, const int8_t *l64, const int8_t *e, int c, int32_t x) {
    if (q->lut64) return rm_lut64_eval(l64 + (size_t)c * 64, e[c], q->lut_edge, x);
    return l256[(size_t)c * 256 + x + 128];
}

typedef struct { int8_t *x, *s, *a, *v, *m, *y1, *h, *y2, *t; } ref_buf; /* natural (T,C) layouts */

/* one image; st (nstats entries) may be NULL */
static void ref_image(const rm_qnet *q, const uint8_t *img, int8_t *logits, int8_t *dump, rm_ie_stat *st, ref_buf *B) {
    const int T = q->T, P = q->P, D = q->D, H = q->H, c = q->img_c, pt = q->patch, gw = q->img_w / pt;
    const size_t hw = (size_t)q->img_h * q->img_w;
    /* input patches */
    for (int t = 0; t < T; t++)
        for (int f = 0; f < P; f++) {
            int ch = f % c, kk = f / c, ky = kk / pt, kx = kk % pt, py = t / gw, px = t % gw;
            B->x[(size_t)t * P + f] = q->pix_lut[ch][img[ch * hw + (size_t)(py * pt + ky) * q->img_w + px * pt + kx]];
        }
#define ST(i) (st ? &st[i] : NULL)
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++) {
            int64_t acc = 0;
            for (int f = 0; f < P; f++)
                if (in_kept(&q->embed, f)) acc += (int64_t)B->x[(size_t)t * P + f] * q->embed.w[(size_t)d * P + f];
            B->s[(size_t)t * D + d] = (int8_t)ref_rq(acc, q->embed.k[d], q->embed.b[d], ST(0));
        }
    for (int l = 0; l < q->L; l++) {
        const rm_qblock *b = &q->blk[l];
        int base = 1 + S_PER * l;
        for (size_t i = 0; i < (size_t)T * D; i++) {
            int d = (int)(i % D);
            B->a[i] = (int8_t)ref_rq((int64_t)B->s[i] * b->a1.w[d], b->a1.k[d], b->a1.b[d], ST(base + S_A1));
        }
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                int64_t acc = 0;
                for (int u = 0; u < T; u++)
                    if (in_kept(&b->lin, u)) acc += (int64_t)b->lin.w[(size_t)t * T + u] * B->a[(size_t)u * D + d];
                B->v[(size_t)t * D + d] = (int8_t)ref_rq(acc, b->lin.k[t], b->lin.b[t], ST(base + S_LIN));
            }
        for (size_t i = 0; i < (size_t)T * D; i++) {
            int d = (int)(i % D);
            int32_t u = ref_rq((int64_t)B->v[i] * b->a2.w[d], b->a2.k[d], b->a2.b[d], ST(base + S_A2));
            int32_t r = ref_rq((int64_t)B->s[i] * b->res.w[d], b->res.k[d], b->res.b[d], ST(base + S_RES));
            B->m[i] = (int8_t)ref_add(u, r, ST(base + S_ADD1));
            B->t[i] = (int8_t)ref_rq((int64_t)B->m[i] * b->res2.w[d], b->res2.k[d], b->res2.b[d], ST(base + S_RES2));
            B->y1[i] = q->has_act1 ? (int8_t)ref_lut(q, b->lut1, b->lut1_64, b->lut1_e, d, B->m[i]) : B->m[i];
        }
        if (dump) memcpy(dump + (size_t)(2 * l) * T * D, B->m, (size_t)T * D);
        for (int t = 0; t < T; t++)
            for (int j = 0; j < H; j++) {
                int64_t acc = 0;
                for (int d = 0; d < D; d++)
                    if (in_kept(&b->fc1, d)) acc += (int64_t)b->fc1.w[(size_t)j * D + d] * B->y1[(size_t)t * D + d];
                int32_t h = ref_rq(acc, b->fc1.k[j], b->fc1.b[j], ST(base + S_FC1));
                B->y2[(size_t)t * H + j] = (int8_t)(q->relu ? (h > 0 ? h : 0) : ref_lut(q, b->lut2, b->lut2_64, b->lut2_e, j, h));
            }
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                int64_t acc = 0;
                for (int j = 0; j < H; j++)
                    if (in_kept(&b->fc2, j)) acc += (int64_t)b->fc2.w[(size_t)d * H + j] * B->y2[(size_t)t * H + j];
                int32_t o = ref_rq(acc, b->fc2.k[d], b->fc2.b[d], ST(base + S_FC2));
                B->s[(size_t)t * D + d] = (int8_t)ref_add(o, B->t[(size_t)t * D + d], ST(base + S_ADD2));
            }
        if (dump) memcpy(dump + (size_t)(2 * l + 1) * T * D, B->s, (size_t)T * D);
    }
    int8_t pooled[1024];
    for (int d = 0; d < D; d++) {
        int64_t sum = 0;
        for (int t = 0; t < T; t++) sum += B->s[(size_t)t * D + d];
        /* the pool is a requantisation with weight 1 and no bias */
        pooled[d] = (int8_t)ref_rq(sum, q->pool_shift, 0, ST(1 + S_PER * q->L));
    }
    for (int k = 0; k < q->K; k++) {
        int64_t acc = 0;
        for (int d = 0; d < D; d++)
            if (in_kept(&q->cls, d)) acc += (int64_t)q->cls.w[(size_t)k * D + d] * pooled[d];
        logits[k] = (int8_t)ref_rq(acc, q->cls.k[k], q->cls.b[k], ST(2 + S_PER * q->L));
    }
#undef ST
}

static int ref_buf_new(ref_buf *B, const rm_qnet *q) {
    size_t TD = (size_t)q->T * q->D, TH = (size_t)q->T * q->H;
    int8_t *m = malloc((size_t)q->T * q->P + 6 * TD + 2 * TH);
    if (!m) return -1;
    B->x = m; m += (size_t)q->T * q->P;
    B->s = m; m += TD; B->a = m; m += TD; B->v = m; m += TD; B->m = m; m += TD; B->y1 = m; m += TD; B->t = m; m += TD;
    B->h = m; m += TH; B->y2 = m;
    return 0;
}

/* ---- portable engine ------------------------------------------------------------------------- */

static inline int32_t dot8(const int8_t *x, const int8_t *w, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += x[i] * w[i];
    return s;
}
/* the input row a layer's dots read: x itself (dense), or its kept inputs gathered into xk (compact) */
static inline const int8_t *kept_row(const struct rm_ie_compact *c, const int8_t *x, int8_t *xk) {
    if (!c->wk) return x;
    for (int j = 0; j < c->nk; j++) xk[j] = x[c->ki[j]];
    for (int j = c->nk; j < c->nkp; j++) xk[j] = 0;   /* the zero-weight padding */
    return xk;
}
/* weight row o of l as the dot reads it: dense (IC) or compact (nk) */
static inline const int8_t *wrow(const struct rm_ie_compact *c, const rm_qlin *l, int o) {
    return c->wk ? c->wk + (size_t)o * c->nkp : l->w + (size_t)o * l->IC;
}
static inline int nin(const struct rm_ie_compact *c, const rm_qlin *l) { return c->wk ? c->nkp : l->IC; }

/* natural layouts, int32 accumulation, tables always read as 256 entries; pruned blocks skipped: the
 * token linear's kept blocks, the compact kept-input rows of embed / fc1 / fc2 (xk: max(P, D, H) scratch) */
static void port_image(const rm_qnet *q, const uint8_t *img, int8_t *logits, int8_t *dump, ref_buf *B, int32_t *acc, int8_t *xk) {
    const struct rm_ie_packed *pk = q->packed;
    const int T = q->T, P = q->P, D = q->D, H = q->H, c = q->img_c, pt = q->patch, gw = q->img_w / pt;
    const size_t hw = (size_t)q->img_h * q->img_w;
    for (int t = 0; t < T; t++) {
        int py = t / gw, px = t % gw;
        for (int f = 0; f < P; f++) {
            int ch = f % c, kk = f / c, ky = kk / pt, kx = kk % pt;
            B->x[(size_t)t * P + f] = q->pix_lut[ch][img[ch * hw + (size_t)(py * pt + ky) * q->img_w + px * pt + kx]];
        }
    }
    const struct rm_ie_compact *ce = &pk->cp_embed;
    for (int t = 0; t < T; t++) {
        const int8_t *xr = kept_row(ce, B->x + (size_t)t * P, xk);
        const int ni = nin(ce, &q->embed);
        for (int d = 0; d < D; d++) {
            int32_t s = dot8(xr, wrow(ce, &q->embed, d), ni);
            B->s[(size_t)t * D + d] = (int8_t)rm_requant(s, q->embed.k[d], q->embed.b[d]);
        }
    }
    for (int l = 0; l < q->L; l++) {
        const rm_qblock *b = &q->blk[l];
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                size_t i = (size_t)t * D + d;
                B->a[i] = (int8_t)rm_requant(B->s[i] * b->a1.w[d], b->a1.k[d], b->a1.b[d]);
            }
        for (int t = 0; t < T; t++) {
            for (int d = 0; d < D; d++) acc[d] = 0;
            const int8_t *w = b->lin.w + (size_t)t * T;
            for (int k = 0, u0, u1; k < nblk(&b->lin); k++) {
                blk_range(&b->lin, k, &u0, &u1);
                for (int u = u0; u < u1; u++) {
                    const int8_t *ar = B->a + (size_t)u * D;
                    int32_t wu = w[u];
                    for (int d = 0; d < D; d++) acc[d] += wu * ar[d];
                }
            }
            for (int d = 0; d < D; d++) {
                size_t i = (size_t)t * D + d;
                int32_t v = rm_requant(acc[d], b->lin.k[t], b->lin.b[t]);
                int32_t u = rm_requant(v * b->a2.w[d], b->a2.k[d], b->a2.b[d]);
                int32_t r = rm_requant(B->s[i] * b->res.w[d], b->res.k[d], b->res.b[d]);
                int32_t m = rm_sat8(u + r);
                B->m[i] = (int8_t)m;
                B->t[i] = (int8_t)rm_requant(m * b->res2.w[d], b->res2.k[d], b->res2.b[d]);
                B->y1[i] = q->has_act1 ? b->lut1[(size_t)d * 256 + m + 128] : (int8_t)m;
            }
        }
        if (dump) memcpy(dump + (size_t)(2 * l) * T * D, B->m, (size_t)T * D);
        const struct rm_ie_compact *c1 = &pk->cp_fc1[l], *c2 = &pk->cp_fc2[l];
        for (int t = 0; t < T; t++) {
            const int8_t *yr = kept_row(c1, B->y1 + (size_t)t * D, xk);
            const int ni = nin(c1, &b->fc1);
            for (int j = 0; j < H; j++) {
                int32_t s = dot8(yr, wrow(c1, &b->fc1, j), ni);
                int32_t h = rm_requant(s, b->fc1.k[j], b->fc1.b[j]);
                B->y2[(size_t)t * H + j] = (int8_t)(q->relu ? (h > 0 ? h : 0) : b->lut2[(size_t)j * 256 + h + 128]);
            }
        }
        for (int t = 0; t < T; t++) {
            const int8_t *yr = kept_row(c2, B->y2 + (size_t)t * H, xk);
            const int ni = nin(c2, &b->fc2);
            for (int d = 0; d < D; d++) {
                int32_t s = dot8(yr, wrow(c2, &b->fc2, d), ni);
                size_t i = (size_t)t * D + d;
                B->s[i] = (int8_t)rm_sat8(rm_requant(s, b->fc2.k[d], b->fc2.b[d]) + B->t[i]);
            }
        }
        if (dump) memcpy(dump + (size_t)(2 * l + 1) * T * D, B->s, (size_t)T * D);
    }
    for (int d = 0; d < D; d++) acc[d] = 0;
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++) acc[d] += B->s[(size_t)t * D + d];
    rm_ie_head(q, acc, logits);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

int rm_ie_run(rm_ctx *ctx, const rm_qnet *q, int path, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) {
    if (n < 0) return rm_err(ctx, "integer engine: %d images", n);
    if (!q->packed) return rm_err(ctx, "integer engine: network not prepared (rm_qnet_prepare)");
    int p = rm_ie_resolve(q, path);
    if (p <= 0 || p >= RM_IE_NPATHS) return rm_err(ctx, "integer engine: unknown path %d", p);
    if (!rm_ie_path_available(p, q))
        return rm_err(ctx, "integer engine: path '%s' not available (CPU or network shape)", rm_ie_path_name(p));
    if (n == 0) return RM_OK;
    const size_t chw = (size_t)q->img_c * q->img_h * q->img_w, dstride = (size_t)2 * q->L * q->T * q->D;
    if (p == RM_IE_AMX) { rm_ie_run_amx(q, pixels, n, logits, dump); return RM_OK; }
    if (p == RM_IE_VNNI) { rm_ie_run_vnni(q, pixels, n, logits, dump); return RM_OK; }
    if (p == RM_IE_AVX2) { rm_ie_run_avx2(q, pixels, n, logits, dump); return RM_OK; }
    int fail = 0;
#pragma omp parallel
    {
        ref_buf B;
        int32_t *acc = malloc(sizeof(int32_t) * (q->D > q->T ? q->D : q->T));
        int8_t *xk = malloc((size_t)q->P + q->D + q->H + 32);   /* a kept-input row, padded to 32 */
        int ok = ref_buf_new(&B, q) == 0 && acc && xk;
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < n; i++) {
            if (!ok) continue;
            const uint8_t *img = pixels + (size_t)i * chw;
            int8_t *dp = dump ? dump + (size_t)i * dstride : NULL;
            if (p == RM_IE_REF) ref_image(q, img, logits + (size_t)i * q->K, dp, NULL, &B);
            else port_image(q, img, logits + (size_t)i * q->K, dp, &B, acc, xk);
        }
        if (ok) free(B.x);
        free(acc); free(xk);
    }
    return fail ? rm_err(ctx, "integer engine: out of memory for per-thread buffers") : RM_OK;
}

static void stat_init(rm_ie_stat *s, const char *name, int64_t bound) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->acc_min = INT64_MAX; s->acc_max = INT64_MIN; s->out_min = 127; s->out_max = -128;
    s->acc_bound = bound;
}
static int64_t lin_bound(const rm_qlin *l) {
    int64_t best = 0;
    for (int o = 0; o < l->OC; o++) {
        int64_t s = 0;
        for (int i = 0; i < l->IC; i++) { int w = l->w[(size_t)o * l->IC + i]; s += w < 0 ? -w : w; }
        if (s > best) best = s;
    }
    return 128 * best;
}

int rm_ie_stats(rm_ctx *ctx, const rm_qnet *q, const uint8_t *pixels, int n, rm_ie_stat *st, int *nst) {
    int ns = nstats(q);
    char nm[48];
    stat_init(&st[0], "embed", lin_bound(&q->embed));
    for (int l = 0; l < q->L; l++) {
        const rm_qblock *b = &q->blk[l];
        int base = 1 + S_PER * l;
#define NAME(i, s, bound) (snprintf(nm, sizeof nm, "layers.%d.%s", l, s), stat_init(&st[base + i], nm, bound))
        NAME(S_A1, "tok.affine_1", lin_bound(&b->a1)); NAME(S_LIN, "tok.linear", lin_bound(&b->lin));
        NAME(S_A2, "tok.affine_2", lin_bound(&b->a2)); NAME(S_RES, "tok.res_affine", lin_bound(&b->res));
        NAME(S_ADD1, "tok.add", 256); NAME(S_RES2, "mlp.res_affine", lin_bound(&b->res2));
        NAME(S_FC1, "mlp.linear_1", lin_bound(&b->fc1)); NAME(S_FC2, "mlp.linear_2", lin_bound(&b->fc2));
        NAME(S_ADD2, "mlp.add", 256);
#undef NAME
    }
    stat_init(&st[1 + S_PER * q->L], "pool", 128 * (int64_t)q->T);
    stat_init(&st[2 + S_PER * q->L], "classifier", lin_bound(&q->cls));
    *nst = ns;
    ref_buf B;
    if (ref_buf_new(&B, q)) return rm_err(ctx, "integer engine stats: out of memory");
    const size_t chw = (size_t)q->img_c * q->img_h * q->img_w;
    int8_t logits[256];
    for (int i = 0; i < n; i++) ref_image(q, pixels + (size_t)i * chw, logits, NULL, st, &B);
    free(B.x);
    return RM_OK;
}
