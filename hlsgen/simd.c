/* simd.c - latency model of the fixed SIMD design (see simd.h for the formula and its constants). */
#include "simd.h"
#include <stdio.h>
#include <string.h>

static long cdiv(long a, long b) { return (a + b - 1) / b; }

static void add_call(rm_simd_est *e, const char *name, int K, int N, int O, int lut) {
    rm_simd_call *c = &e->call[e->ncalls++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->K = K; c->N = N; c->O = O;
    c->mac = (long)K * cdiv(N, RM_SIMD_TILE) * cdiv(O, RM_SIMD_TILE);
    c->skew = 4L * RM_SIMD_TILE;
    c->fill = RM_SIMD_FILL + (lut ? RM_SIMD_LUT_FILL : 0);
    c->total = c->mac + c->skew + c->fill;
    e->mac += c->mac; e->skew += c->skew; e->fill += c->fill;
}

int rm_hls_simd_estimate(rm_ctx *ctx, const rm_hls_dims *d, double clock_ns, rm_simd_est *e) {
    memset(e, 0, sizeof *e);
    if (d->D < 1 || d->T < 1 || d->P < 1 || d->h < 1 || d->L < 1 || d->L > RM_MAXL || d->classes < 1)
        return rm_err(ctx, "simd estimate: bad dimensions D %d T %d P %d h %d L %d", d->D, d->T, d->P, d->h, d->L);
    e->dims = *d;
    e->clock_ns = clock_ns > 0 ? clock_ns : 5.0;
    int lut = d->act != RM_HLS_ACT_RELU;
    char nm[48];
    add_call(e, "embed_linear", d->P, d->T, d->D, lut);
    for (int i = 0; i < d->L; i++) {
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer", i);
        add_call(e, nm, d->T, d->D, d->T, lut);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_1", i);
        add_call(e, nm, d->D, d->T, d->h, lut);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_2", i);
        add_call(e, nm, d->h, d->T, d->D, lut);
    }
    add_call(e, "classifier_linear", d->D, 1, (int)(cdiv(d->classes, RM_SIMD_TILE) * RM_SIMD_TILE), lut);
    long copy = cdiv((long)d->T * d->P, RM_SIMD_TILE);
    long load = cdiv((long)d->D * d->P + 2L * d->D, RM_SIMD_TILE);
    e->in_copy = copy;
    e->first_load = load;
    e->pool = cdiv((long)d->T * d->D, RM_SIMD_TILE);
    e->out_write = 1;
    e->total = e->mac + e->skew + e->fill + (copy > load ? copy : load) + e->pool + e->out_write;
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
    PUT("  %-26s %5s %5s %5s %8s %6s %6s %8s\n", "call", "K", "N", "O", "MAC", "skew", "fill", "cycles");
    for (int i = 0; i < e->ncalls; i++) {
        const rm_simd_call *c = &e->call[i];
        PUT("  %-26s %5d %5d %5d %8ld %6ld %6ld %8ld\n", c->name, c->K, c->N, c->O, c->mac, c->skew, c->fill, c->total);
    }
    PUT("  %-26s %23s %8ld %6ld %6ld %8ld\n", "calls", "", e->mac, e->skew, e->fill, e->mac + e->skew + e->fill);
    PUT("  input copy %ld beats || first weight load %ld beats: %ld\n", e->in_copy, e->first_load,
        e->in_copy > e->first_load ? e->in_copy : e->first_load);
    PUT("  token pool T*D/16: %ld;  logits write: %ld\n", e->pool, e->out_write);
    PUT("  latency %ld cycles = %.1f us at %g ns: %.0f images/s (one image at a time)\n", e->total,
        e->total * e->clock_ns / 1000.0, e->clock_ns, e->fps);
    PUT("  calibrated: fill %d (pipeline depth of the processor loop) on the paper's ReLU h=96 latency 29,215;\n"
        "  the 16 LUT cycles on its LERP-PSA h=96 latency 29,441; everything else from the loop counts.\n"
        "  Paper (Vitis HLS 2023.1, U50): ReLU h=96 29,215, LERP-PSA h=96 29,441, ReLU h=192 47,681 cycles.\n",
        RM_SIMD_FILL);
#undef PUT
    return (int)k;
}
