/* simd.c - latency model of the fixed SIMD design (see simd.h for the formula and its constants). */
#include "simd.h"
#include "core/int_engine.h"
#include <stdio.h>
#include <string.h>

static long cdiv(long a, long b) { return (a + b - 1) / b; }

static void add_call(rm_simd_est *e, const char *name, int K, int N, int O, int lut, const int *pruned) {
    int pr = pruned ? pruned[e->ncalls] : 0;
    rm_simd_call *c = &e->call[e->ncalls++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->K = K; c->N = N; c->O = O;
    c->kept = pr > 0 && pr < K ? K - pr : K;
    e->mac_dense += (long)K * cdiv(N, RM_SIMD_TILE) * cdiv(O, RM_SIMD_TILE);
    c->mac = (long)c->kept * cdiv(N, RM_SIMD_TILE) * cdiv(O, RM_SIMD_TILE);
    c->skew = 4L * RM_SIMD_TILE;
    c->fill = RM_SIMD_FILL + (lut ? RM_SIMD_LUT_FILL : 0);
    c->total = c->mac + c->skew + c->fill;
    e->mac += c->mac; e->skew += c->skew; e->fill += c->fill;
}

int rm_hls_simd_estimate(rm_ctx *ctx, const rm_hls_dims *d, double clock_ns, rm_simd_est *e) {
    return rm_hls_simd_estimate_pruned(ctx, d, clock_ns, NULL, e);
}

int rm_hls_simd_estimate_pruned(rm_ctx *ctx, const rm_hls_dims *d, double clock_ns, const int *pruned, rm_simd_est *e) {
    memset(e, 0, sizeof *e);
    if (d->D < 1 || d->T < 1 || d->P < 1 || d->h < 1 || d->L < 1 || d->L > RM_MAXL || d->classes < 1)
        return rm_err(ctx, "simd estimate: bad dimensions D %d T %d P %d h %d L %d", d->D, d->T, d->P, d->h, d->L);
    e->dims = *d;
    e->clock_ns = clock_ns > 0 ? clock_ns : 5.0;
    int lut = d->act != RM_HLS_ACT_RELU;
    char nm[48];
    add_call(e, "embed_linear", d->P, d->T, d->D, lut, pruned);
    for (int i = 0; i < d->L; i++) {
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer", i);
        add_call(e, nm, d->T, d->D, d->T, lut, pruned);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_1", i);
        add_call(e, nm, d->D, d->T, d->h, lut, pruned);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_2", i);
        add_call(e, nm, d->h, d->T, d->D, lut, pruned);
    }
    add_call(e, "classifier_linear", d->D, 1, (int)(cdiv(d->classes, RM_SIMD_TILE) * RM_SIMD_TILE), lut, pruned);
    long copy = cdiv((long)d->T * d->P, RM_SIMD_TILE);
    long load = cdiv((long)d->D * d->P + 2L * d->D, RM_SIMD_TILE);
    e->in_copy = copy;
    e->first_load = load;
    e->pool = cdiv((long)d->T * d->D, RM_SIMD_TILE);
    e->out_write = 1;
    e->total = e->mac + e->skew + e->fill + (copy > load ? copy : load) + e->pool + e->out_write;
    e->total_dense = e->total - e->mac + e->mac_dense;
    e->fps = 1e9 / (e->total * e->clock_ns);
    e->macs = (long)RM_SIMD_TILE * RM_SIMD_TILE;
    return RM_OK;
}

int rm_hls_simd_format(const rm_simd_est *e, char *buf, size_t n) {
    size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + (k < n ? k : n), k < n ? n - k : 0, __VA_ARGS__))
    const rm_hls_dims *d = &e->dims;
    PUT("fixed SIMD design: one %dx%d MAC tile (%ld multipliers) shared by all %d layer calls, %s h=%d\n", RM_SIMD_TILE,
        RM_SIMD_TILE, e->macs, e->ncalls, d->act == RM_HLS_ACT_RELU ? "ReLU" : "learned activations", d->h);
    PUT("  per call: K*ceil(N/16)*ceil(O/16) MAC cycles + 4*16 skew + fill %d%s\n", RM_SIMD_FILL,
        d->act == RM_HLS_ACT_RELU ? "" : " + 16 (LUT stages)");
    int pr = e->mac != e->mac_dense;
    if (pr) PUT("  SIMD-block pruned: K counts the kept inputs only (kept of all)\n");
    PUT("  %-26s %*s %5s %5s %8s %6s %6s %8s\n", "call", pr ? 9 : 5, "K", "N", "O", "MAC", "skew", "fill", "cycles");
    for (int i = 0; i < e->ncalls; i++) {
        const rm_simd_call *c = &e->call[i];
        char kb[24];
        if (c->kept != c->K) snprintf(kb, sizeof kb, "%d/%d", c->kept, c->K);
        else snprintf(kb, sizeof kb, "%d", c->K);
        PUT("  %-26s %*s %5d %5d %8ld %6ld %6ld %8ld\n", c->name, pr ? 9 : 5, kb, c->N, c->O, c->mac, c->skew, c->fill, c->total);
    }
    PUT("  %-26s %*s %8ld %6ld %6ld %8ld\n", "calls", pr ? 27 : 23, "", e->mac, e->skew, e->fill, e->mac + e->skew + e->fill);
    PUT("  input copy %ld beats || first weight load %ld beats: %ld\n", e->in_copy, e->first_load,
        e->in_copy > e->first_load ? e->in_copy : e->first_load);
    PUT("  token pool T*D/16: %ld;  logits write: %ld\n", e->pool, e->out_write);
    PUT("  latency %ld cycles = %.1f us at %g ns: %.0f images/s (one image at a time)\n", e->total,
        e->total * e->clock_ns / 1000.0, e->clock_ns, e->fps);
    if (pr) PUT("  pruning saves %ld MAC cycles: dense latency %ld cycles (%.1f%% fewer)\n", e->mac_dense - e->mac, e->total_dense,
                100.0 * (e->total_dense - e->total) / e->total_dense);
    PUT("  calibrated: fill %d (pipeline depth of the processor loop) on the paper's ReLU h=96 latency 29,215;\n"
        "  the 16 LUT cycles on its LERP-PSA h=96 latency 29,441; everything else from the loop counts.\n"
        "  Paper (Vitis HLS 2023.1, U50): ReLU h=96 29,215, LERP-PSA h=96 29,441, ReLU h=192 47,681 cycles.\n",
        RM_SIMD_FILL);
#undef PUT
    return (int)k;
}

void rm_hls_simd_pruned_of_design(const rm_hls_design *d, int *pruned) {
    const int L = d->dims.L;
    char nm[64];
    for (int i = 0; i < 2 + 3 * L; i++) {
        int l = (i - 1) / 3, w = (i - 1) % 3;
        if (i == 0) snprintf(nm, sizeof nm, "embed_linear");
        else if (i == 1 + 3 * L) snprintf(nm, sizeof nm, "classifier_linear");
        else snprintf(nm, sizeof nm, "blocks_%d_%s", l, w == 0 ? "token_mixer_linear" : w == 1 ? "mlp_linear_1" : "mlp_linear_2");
        int k = rm_hls_find_stage(d, nm);
        pruned[i] = k >= 0 ? d->st[k].pruned_in : 0;
    }
}

void rm_hls_simd_pruned_of_qnet(const rm_qnet *q, int *pruned) {
    const rm_qlin *ls[3 + 3 * RM_MAXL];
    int nl = rm_hls_qnet_linears(q, (const void **)ls);   /* embed, per block lin/fc1/fc2, cls: the call order */
    for (int i = 0; i < nl; i++) pruned[i] = ls[i]->keep ? ls[i]->IC - ls[i]->nkeep * ls[i]->simd : 0;
}
