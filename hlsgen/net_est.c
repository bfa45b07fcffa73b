/* net_est.c - FINN-MVAU folding cycles of a layer-list net, dense and with its SIMD-block pruning masks
 * skipped (see net_est.h). */
#include "net_est.h"
#include "core/net.h"
#include "core/prune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* per-layer positive integers from "4,8,2" (a short list repeats its last; NULL: def[i]) */
static int int_list(rm_ctx *ctx, const char *what, const char *list, int n, const int *def, int *out) {
    const char *p = list;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (p && *p) {
            char *e;
            long v = strtol(p, &e, 10);
            if (e == p || v < 1 || v > 1 << 20 || (*e && *e != ',')) return rm_err(ctx, "%s=%s: expected positive integers separated by commas", what, list);
            last = (int)v;
            p = *e ? e + 1 : e;
        }
        out[i] = last ? last : def[i];
    }
    if (p && *p) return rm_err(ctx, "%s=%s: more entries than the net's %d weight layers", what, list, n);
    return RM_OK;
}

int rm_hls_net_estimate(rm_ctx *ctx, const rm_model *m, const char *pe, const char *simd, double clock_ns, rm_net_est *e) {
    memset(e, 0, sizeof *e);
    e->clock_ns = clock_ns > 0 ? clock_ns : 5.0;
    if (!m->net) return rm_err(ctx, "net estimate: the model is a ResMLP (`hls estimate` without a net uses the ResMLP design)");
    rm_net_spec spec = *rm_net_spec_of(m);
    int outs[RM_NET_MAXL][3];
    if (rm_net_shapes(ctx, &spec, outs)) return rm_errprefix(ctx, "net estimate");
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS), one[RM_MAX_WLAYERS], dsimd[RM_MAX_WLAYERS], pes[RM_MAX_WLAYERS], sims[RM_MAX_WLAYERS];
    if (n < 1) return rm_err(ctx, "net estimate: the net has no linear or conv layer");
    const rm_prune *pr = m->prune;
    for (int i = 0; i < n; i++) {
        one[i] = 1;
        dsimd[i] = rm_prune_auto_simd(wl[i].cols);
        for (int j = 0; pr && j < pr->n; j++) if (!strcmp(pr->l[j].name, wl[i].name)) dsimd[i] = pr->l[j].simd;
    }
    if (int_list(ctx, "pe", pe, n, one, pes) || int_list(ctx, "simd", simd, n, dsimd, sims)) return RM_ERR;
    for (int i = 0; i < n; i++) {
        rm_net_est_layer *L = &e->l[e->n++];
        const rm_wlayer *w = &wl[i];
        L->layer = w->index;
        L->conv = w->kind == RM_WL_NET_CONV;
        L->binary = w->wq == RM_WQ_BINARY;
        rm_wlayer_label(m, w, L->name, sizeof L->name);
        L->oc = w->rows; L->ic = w->cols;
        L->pix = L->conv ? outs[w->index][1] * outs[w->index][2] : 1;
        L->pe = pes[i]; L->simd = sims[i];
        if (L->oc % L->pe) return rm_err(ctx, "net estimate: PE %d does not divide the %d outputs of %s", L->pe, L->oc, L->name);
        if (L->ic % L->simd) return rm_err(ctx, "net estimate: SIMD %d does not divide the %d inputs of %s", L->simd, L->ic, L->name);
        L->nf = L->oc / L->pe; L->sf = L->ic / L->simd;
        const rm_prune_layer *P = NULL;
        for (int j = 0; pr && j < pr->n; j++) if (!strcmp(pr->l[j].name, w->name)) P = &pr->l[j];
        if (P && P->npruned) {
            L->psimd = P->simd; L->pblocks = P->nblocks; L->npruned = P->npruned;
            for (int f = 0; !L->binary && f < L->sf; f++) {   /* a fold is skipped when each of its inputs is pruned */
                int all = 1;
                for (int c = f * L->simd; all && c < (f + 1) * L->simd; c++) all = P->mask[c / P->simd] != 0;
                L->skipped += all;
            }
        }
        L->cycles_dense = (long)L->nf * L->sf * L->pix;
        L->cycles = (long)L->nf * (L->sf - L->skipped) * L->pix;
        e->total_dense += L->cycles_dense; e->total += L->cycles;
        if (L->cycles_dense > e->ii_dense) e->ii_dense = L->cycles_dense;
        if (L->cycles > e->ii) e->ii = L->cycles;
    }
    return RM_OK;
}

int rm_hls_net_estimate_format(const rm_net_est *e, char *buf, size_t n) {
    size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + (k < n ? k : n), k < n ? n - k : 0, __VA_ARGS__))
    PUT("net folding estimate (FINN MVAU: cycles = OC/PE * IC/SIMD per output position, pruned synapse folds skipped)\n");
    PUT("  %-12s %5s %6s %5s %4s %4s %5s %5s %9s %7s %11s %11s\n", "layer", "OC", "IC", "pos", "PE", "SIMD", "NF", "SF",
        "pruned", "skipped", "dense", "pruned");
    for (int i = 0; i < e->n; i++) {
        const rm_net_est_layer *L = &e->l[i];
        char pb[32];
        if (L->npruned) snprintf(pb, sizeof pb, "%d/%dx%d", L->npruned, L->pblocks, L->psimd);
        else snprintf(pb, sizeof pb, "-");
        PUT("  %-12s %5d %6d %5d %4d %4d %5d %5d %9s %7d %11ld %11ld%s\n", L->name, L->oc, L->ic, L->pix, L->pe, L->simd, L->nf,
            L->sf, pb, L->skipped, L->cycles_dense, L->cycles, L->binary && L->npruned ? "  (binary: pruned weights are +-1, not skipped)" : "");
    }
    PUT("  total (sum over layers): %ld cycles dense, %ld pruned (%.1f%% fewer)\n", e->total_dense, e->total,
        e->total_dense ? 100.0 * (e->total_dense - e->total) / e->total_dense : 0.0);
    PUT("  interval (slowest layer): %ld cycles dense, %ld pruned: %.0f -> %.0f images/s at %g ns\n", e->ii_dense, e->ii,
        e->ii_dense ? 1e9 / (e->ii_dense * e->clock_ns) : 0.0, e->ii ? 1e9 / (e->ii * e->clock_ns) : 0.0, e->clock_ns);
    PUT("  (pruned: blocks pruned/blocks x pruning SIMD; skipped: synapse folds whose inputs are all pruned)\n");
#undef PUT
    return (int)k;
}
