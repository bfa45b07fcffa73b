/* prune_est.c - SIMD-block pruning masks of a ResMLP (core/prune.h) onto the matmul stages of the
 * streaming design: each stage reads only its kept inputs, so `hls estimate` counts fewer folds and
 * multiplier lanes. */
#include "estimate.h"
#include "core/prune.h"
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
