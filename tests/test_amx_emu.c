/* test_amx_emu.c - the AMX-INT8 integer engine's data layouts, checked on any CPU with AVX-512 VNNI:
 * core/int_engine_x86.c is compiled into this test with RM_AMX_EMULATE, which turns the tile
 * instructions (TILELOADD, TILESTORED, TDPBSUD, TDPBUSD) into a C model of their definition, and the
 * AMX path must then give the reference engine's logits and every sublayer's int8 output on synthetic
 * networks (weights including -128, saturation, LERP-PSA 64/256-entry tables, ReLU, GELU, hidden widths
 * that are and are not multiples of 16, large shifts). The real instructions run in test_int_engine
 * where the CPU has AMX; here, without VNNI, this test prints SKIP. A fifth case carries SIMD-block pruning
 * masks (fc1/fc2 with whole 64-input steps pruned, which the tile loop skips): the same results as the
 * dense reference on the same zeroed weights. */
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
    for (int c = 0; c < 5; c++) {
        int pr = c == 4;   /* case 4: relu h384 again, pruned */
        if (pr) c = 2;
        kbig = cases[c].kbig;
        rm_qnet *q = synthetic(&ctx, cases[c].act, cases[c].H, cases[c].lut64);
        kbig = 0;
        if (pr) c = 4;
        CHECK(q != NULL, "%s: %s", pr ? "pruned" : cases[c].name, ctx.msg);
        if (!q) continue;
        if (pr) {   /* fc1 (96 in): SIMD 16, blocks 0-3 (the first 64-input step) and 5; fc2 (384 in): every other 64 */
            uint8_t m1[6] = {1, 1, 1, 1, 0, 1}, m2[24];
            for (int b = 0; b < 24; b++) m2[b] = (uint8_t)((b / 4) % 2 == 0);
            for (int l = 0; l < 4; l++) {
                rm_qlin *f1 = &q->blk[l].fc1, *f2 = &q->blk[l].fc2;
                for (int o = 0; o < f1->OC; o++) for (int i = 0; i < 96; i++) if (m1[i / 16]) f1->w[o * 96 + i] = 0;
                for (int o = 0; o < f2->OC; o++) for (int i = 0; i < 384; i++) if (m2[i / 16]) f2->w[o * 384 + i] = 0;
            }
            CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
        }
        size_t dsz = (size_t)n * 2 * q->L * q->T * q->D;
        int8_t *zd = malloc((size_t)n * q->K), *dd = malloc(dsz);   /* the dense reference (pruned case: before the masks) */
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_REF, pix, n, zd, dd), &ctx);
        if (pr) {
            uint8_t m1[6] = {1, 1, 1, 1, 0, 1}, m2[24];
            for (int b = 0; b < 24; b++) m2[b] = (uint8_t)((b / 4) % 2 == 0);
            for (int l = 0; l < 4; l++) {
                CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->blk[l].fc1, 16, m1), &ctx);
                CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->blk[l].fc2, 16, m2), &ctx);
            }
            CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
            amx_pack ap;
            CHECK(amx_pack_new(&ap, q) == 0 && ap.fc1[0].nk == 1 && ap.fc2[0].nk == 3 && ap.embed.nk == 1,
                  "pruned: the tile loop visits 1 of 2 steps of fc1, 3 of 6 of fc2 (%d, %d)", ap.fc1[0].nk, ap.fc2[0].nk);
            amx_pack_free(&ap);
        }
        const char *cname = pr ? "relu h384 pruned (SIMD 16)" : cases[c].name;
        CHECK(rm_ie_path_available(RM_IE_AMX, q), "%s: emulated amx available", cname);
        CHECK(rm_ie_resolve(q, RM_IE_AUTO) == RM_IE_AMX, "%s: auto picks amx first", cname);
        size_t ds = (size_t)n * 2 * q->L * q->T * q->D;
        int8_t *z0 = malloc((size_t)n * q->K), *d0 = malloc(ds), *z = malloc((size_t)n * q->K), *d = malloc(ds);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_REF, pix, n, z0, d0), &ctx);
        CHECK(!memcmp(z0, zd, (size_t)n * q->K) && !memcmp(d0, dd, ds), "%s: reference with masks = dense reference", cname);
        free(zd); free(dd);
        memset(z, 0x55, (size_t)n * q->K);
        memset(d, 0x55, ds);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_AMX, pix, n, z, d), &ctx);
        long bad = 0;
        for (size_t i = 0; i < ds; i++) bad += d[i] != d0[i];
        CHECK(bad == 0, "%s: %ld of %zu block outputs differ from the reference", cname, bad, ds);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: logits differ from the reference", cname);
        memset(z, 0x55, (size_t)n * q->K);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_AMX, pix, n, z, NULL), &ctx);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: logits without dumps differ", cname);
        if (!bad && !memcmp(z, z0, (size_t)n * q->K)) printf("%s: emulated amx bit-exact on %d images\n", cname, n);
        free(z0); free(d0); free(z); free(d);
        rm_qnet_free(q);
    }
    free(pix);
    TEST_END();
}
