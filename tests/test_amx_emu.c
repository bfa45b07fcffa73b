/* test_amx_emu.c - the AMX-INT8 integer engine's data layouts, checked on any CPU with AVX-512 VNNI:
 * core/int_engine_x86.c is compiled into this test with RM_AMX_EMULATE, which turns the tile
 * instructions (TILELOADD, TILESTORED, TDPBSUD, TDPBUSD) into a C model of their definition, and the
 * AMX path must then give the reference engine's logits and every sublayer's int8 output on synthetic
 * networks (weights including -128, saturation, LERP-PSA 64/256-entry tables, ReLU, GELU, hidden widths
 * that are and are not multiples of 16, large shifts). The real instructions run in test_int_engine
 * where the CPU has AMX; here, without VNNI, this test prints SKIP. */
#define RM_AMX_EMULATE 1
#include "core/int_engine_x86.c"
#include "tests/tutil.h"
#include <stdlib.h>

static uint64_t rng = 7;
static int r8(void) { return (int)(rm_rng_next(&rng) % 256) - 128; }
static int kbig = 0;

static void fill(rm_qlin *l, int kmin, int kspan) {
    for (size_t i = 0; i < (size_t)l->OC * l->IC; i++) {
        int v = r8();
        l->w[i] = (int8_t)(i % 37 == 0 ? -128 : i % 41 == 0 ? 127 : v / (1 + (int)(rm_rng_next(&rng) % 4)));
    }
    for (int o = 0; o < l->OC; o++) {
        l->b[o] = (int8_t)(o % 13 == 0 ? -128 : o % 17 == 0 ? 127 : r8() / 2);
        l->k[o] = (int8_t)(kmin + kbig + (int)(rm_rng_next(&rng) % kspan));
    }
}

static rm_qnet *synthetic(rm_ctx *ctx, int act, int H, int lut64) {
    rm_qnet *q = NULL;
    if (rm_qnet_new(ctx, &q, 64, 48, 96, H, 4, 10, 3, 32, 32, 4, act, lut64)) return NULL;
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) q->pix_lut[c][v] = (int8_t)((v - 128) * (c + 1) / 3);
    fill(&q->embed, 7, 4);
    fill(&q->cls, 8, 4);
    for (int l = 0; l < 4; l++) {
        rm_qblock *b = &q->blk[l];
        fill(&b->a1, 5, 4); fill(&b->lin, 9, 5); fill(&b->a2, 5, 4); fill(&b->res, 5, 4); fill(&b->res2, 5, 4);
        fill(&b->fc1, 9, 5); fill(&b->fc2, 9, 5);
        if (b->lut1) for (int i = 0; i < 96 * 256; i++) b->lut1[i] = (int8_t)r8();
        if (b->lut2) for (int i = 0; i < H * 256; i++) b->lut2[i] = (int8_t)r8();
        if (b->lut1_64) for (int i = 0; i < 96 * 64; i++) b->lut1_64[i] = (int8_t)(i % 64 == 63 ? 127 : r8());
        if (b->lut2_64) for (int i = 0; i < H * 64; i++) b->lut2_64[i] = (int8_t)(i % 64 == 0 ? -128 : r8());
    }
    if (rm_qnet_prepare(ctx, q)) { rm_qnet_free(q); return NULL; }
    return q;
}

int main(void) {
    if (!rm_ie_cpu_vnni()) {
        printf("SKIP: the emulated AMX engine reuses the VNNI epilogues; this CPU has no AVX-512 VNNI + VBMI\n");
        return 0;
    }
    rm_ctx ctx = {0};
    const int n = 12;
    uint8_t *pix = malloc((size_t)n * 3072);
    for (int i = 0; i < n * 3072; i++) pix[i] = (uint8_t)(i < 3072 ? (i & 1 ? 255 : 0) : r8() + 128);
    struct { int act, H, lut64, kbig; const char *name; } cases[] = {
        {RM_ACT_LERP_PSA, 96, 1, 0, "lerp_psa h96 lut64"}, {RM_ACT_LERP_PSA, 40, 0, 0, "lerp_psa h40 lut256 (h not /16)"},
        {RM_ACT_RELU, 384, 0, 0, "relu h384"}, {RM_ACT_GELU, 24, 1, 12, "gelu h24 lut64, shifts 17..25"}};
    for (int c = 0; c < 4; c++) {
        kbig = cases[c].kbig;
        rm_qnet *q = synthetic(&ctx, cases[c].act, cases[c].H, cases[c].lut64);
        kbig = 0;
        CHECK(q != NULL, "%s: %s", cases[c].name, ctx.msg);
        if (!q) continue;
        CHECK(rm_ie_path_available(RM_IE_AMX, q), "%s: emulated amx available", cases[c].name);
        CHECK(rm_ie_resolve(q, RM_IE_AUTO) == RM_IE_AMX, "%s: auto picks amx first", cases[c].name);
        size_t ds = (size_t)n * 2 * q->L * q->T * q->D;
        int8_t *z0 = malloc((size_t)n * q->K), *d0 = malloc(ds), *z = malloc((size_t)n * q->K), *d = malloc(ds);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_REF, pix, n, z0, d0), &ctx);
        memset(z, 0x55, (size_t)n * q->K);
        memset(d, 0x55, ds);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_AMX, pix, n, z, d), &ctx);
        long bad = 0;
        for (size_t i = 0; i < ds; i++) bad += d[i] != d0[i];
        CHECK(bad == 0, "%s: %ld of %zu block outputs differ from the reference", cases[c].name, bad, ds);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: logits differ from the reference", cases[c].name);
        memset(z, 0x55, (size_t)n * q->K);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_AMX, pix, n, z, NULL), &ctx);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: logits without dumps differ", cases[c].name);
        if (!bad && !memcmp(z, z0, (size_t)n * q->K)) printf("%s: emulated amx bit-exact on %d images\n", cases[c].name, n);
        free(z0); free(d0); free(z); free(d);
        rm_qnet_free(q);
    }
    free(pix);
    TEST_END();
}
