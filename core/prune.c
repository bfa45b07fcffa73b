/* prune.c - SIMD-block pruning masks: creation step by step by block norm, application after every
 * parameter change, copy, and the checkpoint text form (see prune.h). */
#include "prune.h"
#include "int_engine.h"
#include "safetensors.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rm_prune_auto_simd(int cols) {
    for (int s = 16; s > 1; s--) if (cols % s == 0) return s;
    return 1;
}

int rm_prune_simd_list(rm_ctx *ctx, const rm_model *m, const char *list, int *simd, int max) {
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS), last = 0;
    const char *p = list && strcmp(list, "auto") ? list : NULL;
    for (int i = 0; i < n && i < max; i++) {
        if (p && *p) {
            char *e;
            long v = strtol(p, &e, 10);
            if (e == p || v < 1 || (*e && *e != ',')) return rm_err(ctx, "simd=%s: expected positive integers separated by commas", list);
            last = (int)v;
            p = *e ? e + 1 : e;
        }
        simd[i] = last ? last : rm_prune_auto_simd(wl[i].cols);
        if (wl[i].cols % simd[i]) {
            char lb[48];
            return rm_err(ctx, "simd=%s: SIMD %d does not divide the %d inputs of %s (weight layer %d)", list ? list : "auto",
                          simd[i], wl[i].cols, rm_wlayer_label(m, &wl[i], lb, sizeof lb), i + 1);
        }
    }
    if (p && *p) return rm_err(ctx, "simd=%s: more entries than the model's %d weight layers", list, n);
    return n;
}

void rm_prune_release(rm_prune *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) free(p->l[i].mask);
    free(p);
}
void rm_prune_free(rm_model *m) {
    rm_prune_release(m->prune);
    m->prune = NULL;
}
rm_prune *rm_prune_dup(const rm_prune *p) {
    if (!p) return NULL;
    rm_prune *d = malloc(sizeof *d);
    if (!d) return NULL;
    *d = *p;
    for (int i = 0; i < p->n; i++) d->l[i].mask = NULL;
    for (int i = 0; i < p->n; i++)
        if (!(d->l[i].mask = malloc((size_t)p->l[i].nblocks))) { rm_prune_release(d); return NULL; }
        else memcpy(d->l[i].mask, p->l[i].mask, (size_t)p->l[i].nblocks);
    return d;
}

static int prune_init(rm_ctx *ctx, rm_model *m, const int *simd) {
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS);
    rm_prune *p = calloc(1, sizeof *p);
    if (!p) return rm_err(ctx, "prune: out of memory");
    m->prune = p;
    for (int i = 0; i < n; i++) {
        rm_prune_layer *L = &p->l[p->n++];
        memcpy(L->name, wl[i].name, sizeof L->name);
        L->kind = wl[i].kind; L->index = wl[i].index;
        L->rows = wl[i].rows; L->cols = wl[i].cols; L->simd = simd ? simd[i] : rm_prune_auto_simd(wl[i].cols);
        if (L->simd < 1 || L->cols % L->simd) { rm_err(ctx, "prune: SIMD %d does not divide %d inputs of %s", L->simd, L->cols, L->name); rm_prune_free(m); return RM_ERR; }
        L->nblocks = L->cols / L->simd;
        if (!(L->mask = calloc(L->nblocks, 1))) { rm_prune_free(m); return rm_err(ctx, "prune: out of memory"); }
    }
    return RM_OK;
}

typedef struct { double v; int b; } nb_pair;
static int cmp_nb(const void *a, const void *b) {
    const nb_pair *x = a, *y = b;
    int c = (x->v > y->v) - (x->v < y->v);
    return c ? c : x->b - y->b;
}

int rm_prune_step(rm_ctx *ctx, rm_model *m, const int *simd, double sparsity, int norm) {
    if (!(sparsity >= 0 && sparsity <= 1)) return rm_err(ctx, "prune: sparsity %g must be in [0, 1]", sparsity);
    if (!m->prune && prune_init(ctx, m, simd)) return RM_ERR;
    rm_prune *p = m->prune;
    for (int i = 0; i < p->n; i++)
        if (simd && simd[i] != p->l[i].simd)
            return rm_err(ctx, "prune: %s already has masks with SIMD %d (asked %d)", p->l[i].name, p->l[i].simd, simd[i]);
    for (int i = 0; i < p->n; i++) {
        rm_prune_layer *L = &p->l[i];
        const float *w = rm_model_tensor_data(m, L->name, NULL);
        int target = (int)floor(sparsity * L->nblocks + 1e-9);
        if (!w || target <= L->npruned) continue;
        nb_pair *v = malloc(sizeof *v * L->nblocks);
        if (!v) return rm_err(ctx, "prune: out of memory");
        int nv = 0;
        for (int b = 0; b < L->nblocks; b++) {
            if (L->mask[b]) continue;
            double s = 0;
            for (int r = 0; r < L->rows; r++)
                for (int k = 0; k < L->simd; k++) {
                    double x = w[(size_t)r * L->cols + (size_t)b * L->simd + k];
                    s += norm == RM_PRUNE_L2 ? x * x : fabs(x);
                }
            v[nv++] = (nb_pair){s, b};
        }
        qsort(v, nv, sizeof *v, cmp_nb);
        for (int k = 0; k < target - L->npruned && k < nv; k++) L->mask[v[k].b] = 1;
        L->npruned = target;
        free(v);
    }
    rm_model_params_changed(m);
    return RM_OK;
}

void rm_prune_apply(rm_model *m) {
    rm_prune *p = m->prune;
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        rm_prune_layer *L = &p->l[i];
        if (!L->npruned) continue;
        float *w = rm_model_tensor_data(m, L->name, NULL);
        if (!w) continue;
        for (int b = 0; b < L->nblocks; b++)
            if (L->mask[b])
                for (int r = 0; r < L->rows; r++) memset(w + (size_t)r * L->cols + (size_t)b * L->simd, 0, sizeof(float) * L->simd);
    }
}

int rm_prune_copy(rm_ctx *ctx, rm_model *dst, const rm_model *src) {
    if (dst == src) return RM_OK;
    rm_prune_free(dst);
    if (!src->prune) return RM_OK;
    char *t = rm_prune_format(src);
    if (!t) return rm_err(ctx, "prune: out of memory");
    int r = rm_prune_parse(ctx, dst, t);
    free(t);
    return r;
}

int rm_prune_pruned_inputs(const rm_model *m, const char *name) {
    if (!m->prune) return 0;
    for (int i = 0; i < m->prune->n; i++)
        if (!strcmp(m->prune->l[i].name, name)) return m->prune->l[i].npruned * m->prune->l[i].simd;
    return 0;
}

double rm_prune_sparsity(const rm_model *m) {
    if (!m->prune) return 0;
    double z = 0, t = 0;
    for (int i = 0; i < m->prune->n; i++) {
        const rm_prune_layer *L = &m->prune->l[i];
        z += (double)L->rows * L->npruned * L->simd;
        t += (double)L->rows * L->cols;
    }
    return t > 0 ? z / t : 0;
}

char *rm_prune_format(const rm_model *m) {
    if (!m->prune) return NULL;
    size_t cap = 16;
    for (int i = 0; i < m->prune->n; i++) cap += strlen(m->prune->l[i].name) + 16 + (size_t)m->prune->l[i].nblocks / 4 + 2;
    char *s = malloc(cap), *q = s;
    if (!s) return NULL;
    for (int i = 0; i < m->prune->n; i++) {
        const rm_prune_layer *L = &m->prune->l[i];
        q += sprintf(q, "%s%s:%d:", i ? ";" : "", L->name, L->simd);
        for (int b = 0; b < L->nblocks; b += 4) {
            int v = 0;
            for (int k = 0; k < 4 && b + k < L->nblocks; k++) v |= L->mask[b + k] << k;
            *q++ = "0123456789abcdef"[v];
        }
    }
    *q = 0;
    return s;
}

int rm_prune_parse(rm_ctx *ctx, rm_model *m, const char *text) {
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS), simd[RM_MAX_WLAYERS];
    for (int i = 0; i < n; i++) simd[i] = 0;
    /* first pass: SIMD per named layer */
    const char *p = text;
    while (*p) {
        const char *c1 = strchr(p, ':'), *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        if (!c1 || c1 > end) return rm_err(ctx, "prune metadata: expected name:simd:mask at '%.40s'", p);
        int found = -1;
        for (int i = 0; i < n; i++) if ((size_t)(c1 - p) == strlen(wl[i].name) && !strncmp(p, wl[i].name, c1 - p)) found = i;
        if (found < 0) return rm_err(ctx, "prune metadata: the model has no weight layer '%.*s'", (int)(c1 - p), p);
        simd[found] = atoi(c1 + 1);
        p = *end ? end + 1 : end;
    }
    for (int i = 0; i < n; i++) if (!simd[i]) simd[i] = rm_prune_auto_simd(wl[i].cols);
    rm_prune_free(m);
    if (prune_init(ctx, m, simd)) return rm_errprefix(ctx, "prune metadata");
    p = text;
    while (*p) {
        const char *c1 = strchr(p, ':'), *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *c2 = strchr(c1 + 1, ':');
        if (!c2 || c2 > end) { rm_prune_free(m); return rm_err(ctx, "prune metadata: expected name:simd:mask at '%.40s'", p); }
        rm_prune_layer *L = NULL;
        for (int i = 0; i < m->prune->n; i++)
            if ((size_t)(c1 - p) == strlen(m->prune->l[i].name) && !strncmp(p, m->prune->l[i].name, c1 - p)) L = &m->prune->l[i];
        const char *h = c2 + 1;
        if (end - h != (L->nblocks + 3) / 4) {
            rm_err(ctx, "prune metadata: %s mask has %d digits, want %d", L->name, (int)(end - h), (L->nblocks + 3) / 4);
            rm_prune_free(m);
            return RM_ERR;
        }
        L->npruned = 0;
        for (int b = 0; b < L->nblocks; b++) {
            char ch = h[b / 4];
            int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (v < 0) { rm_err(ctx, "prune metadata: %s mask digit '%c'", L->name, ch); rm_prune_free(m); return RM_ERR; }
            L->mask[b] = (v >> (b % 4)) & 1;
            L->npruned += L->mask[b];
        }
        p = *end ? end + 1 : end;
    }
    rm_prune_apply(m);
    return RM_OK;
}

int rm_prune_to_qnet(rm_ctx *ctx, const rm_prune *p, rm_qnet *q) {
    for (int i = 0; p && i < p->n; i++) {
        const rm_prune_layer *L = &p->l[i];
        if (!L->npruned) continue;
        int b = L->index, k = L->kind;
        rm_qlin *ql = k == RM_WL_EMBED ? &q->embed : k == RM_WL_CLS ? &q->cls
                    : b < 0 || b >= q->L ? NULL : k == RM_WL_TOK ? &q->blk[b].lin : k == RM_WL_FC1 ? &q->blk[b].fc1
                    : k == RM_WL_FC2 ? &q->blk[b].fc2 : NULL;
        if (!ql || ql->OC != L->rows || ql->IC != L->cols)
            return rm_err(ctx, "prune: mask of %s does not fit the integer network", L->name);
        if (rm_qnet_set_pruned(ctx, q, ql, L->simd, L->mask)) return rm_errprefix(ctx, "prune: %s", L->name);
    }
    return RM_OK;
}

int rm_prune_st_fill(int simd, int nblocks, const uint8_t *mask, int32_t *out) {
    int n = 0;
    out[0] = simd; out[1] = nblocks;
    for (int b = 0; b < nblocks; b++) if (mask[b]) out[2 + n++] = b;
    return n;
}

int rm_prune_st_read(rm_ctx *ctx, const rm_st_file *f, const char *prefix, const char *label, int cols, int *simd,
                     uint8_t **mask) {
    char nm[200], nb_nm[200];
    const void *d;
    *mask = NULL; *simd = 0;
    snprintf(nm, sizeof nm, "%s.prune", prefix);
    snprintf(nb_nm, sizeof nb_nm, "%s.pruned_blocks", prefix);
    const rm_st_tensor *bt = rm_st_find(f, nb_nm);
    if (!rm_st_find(f, nm)) return bt ? rm_err(ctx, "%s: %s without %s", label, nb_nm, nm) : RM_OK;
    if (rm_st_get(ctx, f, nm, RM_I32, 1, (int64_t[]){2}, &d)) return RM_ERR;
    int32_t s = ((const int32_t *)d)[0], nb = ((const int32_t *)d)[1];
    if (s < 1 || cols % s) return rm_err(ctx, "%s: pruning SIMD %d does not divide its %d inputs", label, s, cols);
    if (nb != cols / s) return rm_err(ctx, "%s: pruning mask of %d blocks, but SIMD %d on %d inputs makes %d", label, nb, s, cols, cols / s);
    if (!bt) return rm_err(ctx, "%s: %s without %s", label, nm, nb_nm);
    if (bt->ndim != 1 || bt->shape[0] < 1 || bt->shape[0] > nb)
        return rm_err(ctx, "%s: %s must list 1 to %d blocks", label, nb_nm, nb);
    if (rm_st_get(ctx, f, nb_nm, RM_I32, 1, bt->shape, &d)) return RM_ERR;
    const int32_t *blk = d;
    uint8_t *m = calloc((size_t)nb, 1);
    if (!m) return rm_err(ctx, "%s: out of memory", label);
    for (int64_t i = 0; i < bt->shape[0]; i++) {
        if (blk[i] < 0 || blk[i] >= nb || (i && blk[i] <= blk[i - 1])) {
            free(m);
            return rm_err(ctx, "%s: pruned block %d (entry %d) out of range 0..%d or not ascending", label, blk[i], (int)i, nb - 1);
        }
        m[blk[i]] = 1;
    }
    *simd = s; *mask = m;
    return RM_OK;
}
