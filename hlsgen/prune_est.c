/* prune_est.c - SIMD-block pruning masks of a ResMLP (core/prune.h) onto the matmul stages of the
 * streaming design: each stage reads only its kept inputs, so `hls estimate` counts fewer folds and
 * multiplier lanes. */
#include "estimate.h"
#include "core/prune.h"
#include "core/int_engine.h"
#include <stdio.h>

int rm_hls_apply_prune(rm_ctx *ctx, rm_hls_design *d, const rm_model *m) {
    if (!m->prune || m->net) return RM_OK;
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS);
    for (int i = 0; i < n; i++) {
        char st[64];
        switch (wl[i].kind) {
        case RM_WL_EMBED: snprintf(st, sizeof st, "embed_linear"); break;
        case RM_WL_TOK: snprintf(st, sizeof st, "blocks_%d_token_mixer_linear", wl[i].index); break;
        case RM_WL_FC1: snprintf(st, sizeof st, "blocks_%d_mlp_linear_1", wl[i].index); break;
        case RM_WL_FC2: snprintf(st, sizeof st, "blocks_%d_mlp_linear_2", wl[i].index); break;
        default: snprintf(st, sizeof st, "classifier_linear"); break;
        }
        int p = rm_prune_pruned_inputs(m, wl[i].name);
        if (p && rm_hls_set_pruned(ctx, d, st, p)) return RM_ERR;
    }
    rm_hls_estimate(d, NULL);
    return RM_OK;
}

const char *rm_hls_qlin_stage(const rm_qnet *q, const void *l, char *buf, size_t n) {
    if (l == &q->embed) { snprintf(buf, n, "embed_linear"); return buf; }
    if (l == &q->cls) { snprintf(buf, n, "classifier_linear"); return buf; }
    for (int i = 0; i < q->L; i++) {
        const rm_qblock *b = &q->blk[i];
        const char *w = l == &b->lin ? "token_mixer_linear" : l == &b->fc1 ? "mlp_linear_1" : l == &b->fc2 ? "mlp_linear_2" : NULL;
        if (w) { snprintf(buf, n, "blocks_%d_%s", i, w); return buf; }
    }
    return NULL;
}

int rm_hls_qnet_linears(const rm_qnet *q, const void **ls) {
    int nl = 0;
    ls[nl++] = &q->embed;
    for (int i = 0; i < q->L; i++) { ls[nl++] = &q->blk[i].lin; ls[nl++] = &q->blk[i].fc1; ls[nl++] = &q->blk[i].fc2; }
    ls[nl++] = &q->cls;
    return nl;
}

int rm_hls_apply_prune_qnet(rm_ctx *ctx, rm_hls_design *d, const rm_qnet *q) {
    const rm_qlin *ls[3 + 3 * RM_MAXL];
    int nl = rm_hls_qnet_linears(q, (const void **)ls);
    for (int i = 0; i < nl; i++) {
        char st[64];
        if (!ls[i]->keep || !rm_hls_qlin_stage(q, ls[i], st, sizeof st)) continue;
        if (rm_hls_set_pruned(ctx, d, st, ls[i]->IC - ls[i]->nkeep * ls[i]->simd)) return RM_ERR;
    }
    rm_hls_estimate(d, NULL);
    return RM_OK;
}
