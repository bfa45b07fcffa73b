/* test_int_engine.c - the integer engine is bit-exact:
 *  - synthetic networks (random int8 weights including -128, random shifts and biases, heavy saturation;
 *    LERP-PSA tables in 64- and 256-entry form, ReLU, GELU): every engine path, forced in turn, gives the
 *    reference engine's logits and every sublayer's int8 output, for random images;
 *  - a non-64-token shape (MNIST, 49 tokens) runs on the portable engine and matches the reference;
 *  - a short real QAT run on CIFAR-10 (LERP-PSA h=96, a few hundred images, KD from its fp32 model):
 *    the integer engine's int8 output of every block equals the fake-quant forward's on real test
 *    images with every path forced in turn, and the integer accuracy equals the fake-quant accuracy;
 *  - integer statistics: no int32 overflow, static accumulator bounds hold;
 *  - SIMD-block pruning masks (rm_qnet_set_pruned, SIMD 6 / 8 / 12 / 16, blocks that do and do not fill
 *    whole quads and 64-input AMX steps): every path, skipping the pruned blocks, gives the same logits and
 *    block outputs as the dense reference on the same zeroed weights; fewer quads are visited; a non-zero
 *    weight in a pruned block is refused. */
#include "tests/tutil.h"
#include "core/quant.h"
#include "core/train.h"
#include "core/int_engine_impl.h"
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 99;
static int r8(void) { return (int)(rm_rng_next(&rng) % 256) - 128; }
static int kbig = 0;   /* added to every shift: exercises the engines' large-shift code paths */

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

static int edge_mode = RM_LUT_EDGE_EXTEND;   /* lut_edge of the synthetic networks */
static int synth_D = 96;                      /* embedding width of the synthetic networks */

static rm_qnet *synthetic(rm_ctx *ctx, int act, int H, int lut64, int img_c, int img_hw) {
    rm_qnet *q = NULL;
    int T = (img_hw / 4) * (img_hw / 4), P = 16 * img_c;
    if (rm_qnet_new(ctx, &q, T, P, synth_D, H, 4, 10, img_c, img_hw, img_hw, 4, act, lut64)) return NULL;
    q->lut_edge = edge_mode;
    for (int c = 0; c < img_c; c++)
        for (int v = 0; v < 256; v++) q->pix_lut[c][v] = (int8_t)((v - 128) * (c + 1) / 3);
    fill(&q->embed, 7, 4);
    fill(&q->cls, 8, 4);
    for (int l = 0; l < 4; l++) {
        rm_qblock *b = &q->blk[l];
        fill(&b->a1, 5, 4); fill(&b->lin, 9, 5); fill(&b->a2, 5, 4); fill(&b->res, 5, 4); fill(&b->res2, 5, 4);
        fill(&b->fc1, 9, 5); fill(&b->fc2, 9, 5);
        if (b->lut1) for (int i = 0; i < synth_D * 256; i++) b->lut1[i] = (int8_t)r8();
        if (b->lut2) for (int i = 0; i < H * 256; i++) b->lut2[i] = (int8_t)r8();
        if (b->lut1_64) for (int i = 0; i < synth_D * 64; i++) b->lut1_64[i] = (int8_t)(i % 64 == 63 ? 127 : r8());
        if (b->lut2_64) for (int i = 0; i < H * 64; i++) b->lut2_64[i] = (int8_t)(i % 64 == 0 ? -128 : r8());
        if (b->lut1_e) for (int i = 0; i < synth_D; i++) b->lut1_e[i] = (int8_t)r8();    /* paper_hls keeps these */
        if (b->lut2_e) for (int i = 0; i < H; i++) b->lut2_e[i] = (int8_t)r8();
    }
    if (rm_qnet_prepare(ctx, q)) { rm_qnet_free(q); return NULL; }
    return q;
}

/* run every available path (forced process-wide and per call) against the reference */
static void all_paths(rm_ctx *ctx, const rm_qnet *q, const uint8_t *pix, int n, const char *what,
                      const int8_t *want_logits, const int8_t *want_dump) {
    size_t ds = (size_t)n * 2 * q->L * q->T * q->D;
    int8_t *z0 = malloc((size_t)n * q->K), *d0 = malloc(ds), *z = malloc((size_t)n * q->K), *d = malloc(ds);
    CHECK_OK(rm_ie_run(ctx, q, RM_IE_REF, pix, n, z0, d0), ctx);
    if (want_logits) CHECK(!memcmp(z0, want_logits, (size_t)n * q->K), "%s: reference logits vs fake-quant", what);
    if (want_dump) CHECK(!memcmp(d0, want_dump, ds), "%s: reference block outputs vs fake-quant", what);
    for (int p = RM_IE_PORTABLE; p < RM_IE_NPATHS; p++) {
        if (!rm_ie_path_available(p, q)) {
            const char *why = rm_ie_path_note(p);
            if (p == RM_IE_AMX)   /* the AMX engine can only be checked where the CPU and the OS allow it */
                printf("SKIP: %s: path amx not run here: %s\n", what, why[0] ? why : "network shape (embed not a multiple of 16)");
            else
                printf("%s: path %s not available here%s%s\n", what, rm_ie_path_name(p), why[0] ? ": " : "", why);
            continue;
        }
        rm_ie_force_path(p);
        CHECK(rm_ie_resolve(q, RM_IE_AUTO) == p, "forcing %s", rm_ie_path_name(p));
        memset(z, 0x55, (size_t)n * q->K);
        memset(d, 0x55, ds);
        CHECK_OK(rm_ie_run(ctx, q, RM_IE_AUTO, pix, n, z, d), ctx);
        rm_ie_force_path(0);
        long bad = 0;
        for (size_t i = 0; i < ds; i++) bad += d[i] != d0[i];
        CHECK(bad == 0, "%s: path %s: %ld of %zu block outputs differ from the reference", what, rm_ie_path_name(p), bad, ds);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: path %s: logits differ from the reference", what, rm_ie_path_name(p));
        /* without dumps (the fast code path) */
        memset(z, 0x55, (size_t)n * q->K);
        CHECK_OK(rm_ie_run(ctx, q, p, pix, n, z, NULL), ctx);
        CHECK(!memcmp(z, z0, (size_t)n * q->K), "%s: path %s without dumps: logits differ", what, rm_ie_path_name(p));
        printf("%s: path %-9s bit-exact on %d images\n", what, rm_ie_path_name(p), n);
    }
    free(z0); free(d0); free(z); free(d);
}

static void test_synthetic(void) {
    rm_ctx ctx = {0};
    const int n = 24;
    uint8_t *pix = malloc((size_t)n * 3072);
    for (int i = 0; i < n * 3072; i++) pix[i] = (uint8_t)(i < 3072 ? (i & 1 ? 255 : 0) : r8() + 128);
    struct { int act, H, lut64, kbig; const char *name; } cases[] = {
        {RM_ACT_LERP_PSA, 96, 1, 0, "lerp_psa h96 lut64"}, {RM_ACT_LERP_PSA, 32, 0, 0, "lerp_psa h32 lut256"},
        {RM_ACT_RELU, 192, 0, 0, "relu h192"}, {RM_ACT_GELU, 24, 1, 12, "gelu h24 lut64, shifts 17..25"},
        {RM_ACT_LERP_PSA, 96, 1, 0, "lerp_psa h96 lut64 edge paper_hls"}, {RM_ACT_LERP_PSA, 96, 1, 0, "lerp_psa h96 lut64 edge clamp"}};
    for (int c = 0; c < 6; c++) {
        kbig = cases[c].kbig;
        edge_mode = c == 4 ? RM_LUT_EDGE_PAPER_HLS : c == 5 ? RM_LUT_EDGE_CLAMP : RM_LUT_EDGE_EXTEND;
        rm_qnet *q = synthetic(&ctx, cases[c].act, cases[c].H, cases[c].lut64, 3, 32);
        kbig = 0;
        CHECK(q != NULL, "synthetic %s: %s", cases[c].name, ctx.msg);
        if (!q) continue;
        long fixes = q->packed->fix_embed.n;
        for (int l = 0; l < 4; l++) fixes += q->packed->blk[l].fix_tok.n + q->packed->blk[l].fix_fc1.n + q->packed->blk[l].fix_fc2.n;
        CHECK(fixes > 0, "synthetic weights include -128 (%ld)", fixes);
        all_paths(&ctx, q, pix, n, cases[c].name, NULL, NULL);
        if (cases[c].lut64 && q->blk[0].lut1_64) {   /* the expanded 256-entry tables the fast engines read follow the edge mode */
            int bad = 0;
            for (int l = 0; l < 4; l++)
                for (int ch = 0; ch < 96; ch++)
                    for (int u = 0; u < 256; u++)
                        bad += q->blk[l].lut1[ch * 256 + u] != rm_lut64_eval(q->blk[l].lut1_64 + ch * 64, q->blk[l].lut1_e[ch], edge_mode, u - 128);
            CHECK(bad == 0 && (edge_mode == RM_LUT_EDGE_PAPER_HLS || q->blk[0].lut1_e[0] == 0),
                  "%s: expanded tables follow lut_edge (%d differ)", cases[c].name, bad);
        }
        edge_mode = RM_LUT_EDGE_EXTEND;
        rm_qnet_free(q);
    }
    /* embedding widths that are not multiples of 16 (the vector engines' scratch after the pooled sums must
     * stay 64-byte aligned: embed=8 once crashed the VNNI path in `quantize`) */
    for (int D = 8; D <= 20; D += 12) {
        synth_D = D;
        rm_qnet *q = synthetic(&ctx, D == 8 ? RM_ACT_RELU : RM_ACT_LERP_PSA, 16, D != 8, 3, 32);
        CHECK(q != NULL, "synthetic embed %d: %s", D, ctx.msg);
        char name[64];
        snprintf(name, sizeof name, "embed %d (not a multiple of 16)", D);
        if (q) all_paths(&ctx, q, pix, n, name, NULL, NULL);
        rm_qnet_free(q);
        synth_D = 96;
    }
    /* MNIST shape: 49 tokens -> portable engine only */
    rm_qnet *q = synthetic(&ctx, RM_ACT_LERP_PSA, 32, 1, 1, 28);
    CHECK(q != NULL, "mnist-shaped network: %s", ctx.msg);
    if (q) {
        CHECK(!rm_ie_path_available(RM_IE_VNNI, q) && !rm_ie_path_available(RM_IE_AVX2, q), "vector paths refuse 49 tokens");
        CHECK(rm_ie_resolve(q, RM_IE_AUTO) == RM_IE_PORTABLE, "auto falls back to portable");
        CHECK(rm_ie_run(&ctx, q, RM_IE_VNNI, pix, 1, (int8_t[10]){0}, NULL) == RM_ERR, "forcing an unavailable path fails");
        all_paths(&ctx, q, pix, 8, "mnist-shaped", NULL, NULL);
        rm_qnet_free(q);
    }
    free(pix);
}

/* zero the blocks of l (SIMD s) listed in mask */
static void zero_blocks(rm_qlin *l, int s, const uint8_t *mask) {
    for (int o = 0; o < l->OC; o++)
        for (int i = 0; i < l->IC; i++)
            if (mask[i / s]) l->w[(size_t)o * l->IC + i] = 0;
}

static void test_pruned(void) {
    rm_ctx ctx = {0};
    const int n = 16;
    uint8_t *pix = malloc((size_t)n * 3072);
    for (int i = 0; i < n * 3072; i++) pix[i] = (uint8_t)(r8() + 128);
    for (int c = 0; c < 3; c++) {   /* 0: LERP-PSA lut64 h96; 1: ReLU h192; 2: MNIST shape (portable only) */
        rm_qnet *q = c == 2 ? synthetic(&ctx, RM_ACT_LERP_PSA, 32, 1, 1, 28) : synthetic(&ctx, c ? RM_ACT_RELU : RM_ACT_LERP_PSA, c ? 192 : 96, !c, 3, 32);
        CHECK(q != NULL, "pruned case %d: %s", c, ctx.msg);
        if (!q) continue;
        const char *what = c == 0 ? "pruned lerp_psa h96" : c == 1 ? "pruned relu h192" : "pruned mnist-shaped";
        /* masks: embed SIMD P/8 (6: quads cut in half), token SIMD T/8 ... */
        uint8_t me[8] = {0, 1, 0, 0, 1, 1, 0, 0}, mt[8] = {1, 0, 0, 1, 0, 0, 1, 0}, mc[12] = {0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1};
        uint8_t m1[3][8], m2[3][16];
        int s1 = 12, s2 = q->H >= 96 ? 16 : 8, n2 = q->H / s2;
        for (int l = 0; l < 3; l++) {
            for (int b = 0; b < 8; b++) m1[l][b] = (uint8_t)((b + l) % 2);
            for (int b = 0; b < n2; b++) m2[l][b] = (uint8_t)((n2 >= 8 && b < 4) || b % 3 == l);   /* blocks 0-3 (SIMD 16): a whole 64-input step */
        }
        zero_blocks(&q->embed, q->P / 8, me);
        zero_blocks(&q->cls, 8, mc);
        for (int l = 0; l < 3; l++) {   /* block 3 stays dense */
            if (q->T % 8 == 0) zero_blocks(&q->blk[l].lin, q->T / 8, mt);
            zero_blocks(&q->blk[l].fc1, s1, m1[l]);
            zero_blocks(&q->blk[l].fc2, s2, m2[l]);
        }
        CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
        size_t ds = (size_t)n * 2 * q->L * q->T * q->D;
        int8_t *z0 = malloc((size_t)n * q->K), *d0 = malloc(ds);
        CHECK_OK(rm_ie_run(&ctx, q, RM_IE_REF, pix, n, z0, d0), &ctx);   /* dense, on the zeroed weights */
        int dense_q = q->packed->blk[0].gl_fc1.n;
        CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->embed, q->P / 8, me), &ctx);
        CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->cls, 8, mc), &ctx);
        for (int l = 0; l < 3; l++) {
            if (q->T % 8 == 0) CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->blk[l].lin, q->T / 8, mt), &ctx);
            CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->blk[l].fc1, s1, m1[l]), &ctx);
            CHECK_OK(rm_qnet_set_pruned(&ctx, q, &q->blk[l].fc2, s2, m2[l]), &ctx);
        }
        CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
        const struct rm_ie_packed *pk = q->packed;
        CHECK(q->blk[0].fc1.nkeep == 4 && pk->blk[0].gl_fc1.n == 12 && dense_q == 24, "%s: fc1 keeps 4 of 8 blocks, 12 of 24 quads (%d, %d of %d)",
              what, q->blk[0].fc1.nkeep, pk->blk[0].gl_fc1.n, dense_q);
        if (c < 2)
            CHECK(pk->gl_embed.n == 8 && pk->blk[0].gl_tok.n == 10 && pk->blk[3].gl_tok.n == 16,
                  "%s: embed reads 8 of 12 quads (half-pruned quads kept), token 10 of 16 (%d, %d, %d)", what,
                  pk->gl_embed.n, pk->blk[0].gl_tok.n, pk->blk[3].gl_tok.n);
        all_paths(&ctx, q, pix, n, what, z0, d0);   /* every path, masked, against the dense reference */
        /* a non-zero weight in a pruned block is refused, at set time and at prepare */
        q->blk[1].fc1.w[0] = 5;   /* input 0 of fc1 in block 1: SIMD block 0, pruned (m1[1][0] = 1) */
        CHECK(rm_qnet_prepare(&ctx, q) == RM_ERR && strstr(ctx.msg, "pruned block is not zero"), "%s: prepare refuses a pruned non-zero weight: %s", what, ctx.msg);
        CHECK(rm_qnet_set_pruned(&ctx, q, &q->blk[1].fc1, s1, m1[1]) == RM_ERR && strstr(ctx.msg, "is not zero"), "%s: set_pruned refuses it: %s", what, ctx.msg);
        CHECK(rm_qnet_set_pruned(&ctx, q, &q->blk[1].a1, 1, me) == RM_ERR, "%s: no masks on affines", what);
        free(z0); free(d0);
        rm_qnet_free(q);
    }
    free(pix);
}

static int quiet(void *ud, const rm_train_stats *s, int end) {
    if (end) printf("  epoch %d: loss %.4f train acc %.3f%s", s->epoch + 1, s->loss, s->train_acc, s->have_test ? "" : "\n");
    if (end && s->have_test) printf(" val (int) %.3f\n", s->test_acc);
    (void)ud;
    return 0;
}

static void test_real_qat(void) {
    rm_ctx ctx = {0};
    rm_dataset train = {0}, test = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &train, DATA_DIR "/cifar-10-batches-bin/data_batch_1.bin", NULL), &ctx);
    CHECK_OK(rm_cifar10_load(&ctx, &test, DATA_DIR "/cifar-10-batches-bin", "test"), &ctx);
    if (!train.n || !test.n) return;
    double t0 = rm_now();
    /* fp32 LERP-PSA h=96 trained briefly on 768 images: the teacher and the model to quantise */
    rm_model_cfg cfg = rm_model_default_cfg(RM_ACT_LERP_PSA, 96);
    rm_model *m = NULL;
    CHECK_OK(rm_model_new(&ctx, &m, &cfg, 1), &ctx);
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts to = rm_train_defaults();
    to.epochs = 1; to.limit = 768; to.batch = 64; to.aug = RM_AUG_NONE;
    rm_train_result tr;
    CHECK_OK(rm_train(&ctx, m, &opt, &train, &to, &tr), &ctx);
    rm_optim_free(&opt);
    float facc, floss;
    rm_dataset ev = {0};
    CHECK_OK(rm_dataset_slice(&ctx, &ev, &test, 0, 200), &ctx);
    CHECK_OK(rm_evaluate(&ctx, m, &ev, 256, &facc, &floss), &ctx);
    printf("fp32 LERP-PSA h=96 after one short epoch: test acc %.3f (%.1f s)\n", facc, rm_now() - t0);
    /* PTQ: fold, calibrate on 256 / validate on 200 images */
    rm_folded *f = NULL;
    CHECK_OK(rm_fold(&ctx, m, &f), &ctx);
    rm_qmodel *q = NULL;
    CHECK_OK(rm_qmodel_new(&ctx, &q, f, 1, &train), &ctx);
    rm_dataset calib = {0}, val = {0}, qtrain = {0};
    CHECK_OK(rm_dataset_slice(&ctx, &calib, &train, 0, 256), &ctx);
    CHECK_OK(rm_dataset_slice(&ctx, &val, &train, 2000, 200), &ctx);
    CHECK_OK(rm_dataset_slice(&ctx, &qtrain, &train, 0, 256), &ctx);
    rm_calib_opts co = rm_calib_defaults();
    rm_calib_result cr;
    CHECK_OK(rm_quant_calibrate(&ctx, q, &calib, &val, &co, &cr), &ctx);
    printf("PTQ: percentile %.0f, val (int) %.3f (%.1f s)\n", cr.pct[cr.best], cr.acc[cr.best], rm_now() - t0);
    /* QAT: 2 epochs on 256 images, KD from the fp32 model */
    rm_qat_opts qo = rm_qat_defaults();
    qo.epochs = 2; qo.batch = 64; qo.val = &val; qo.cb = quiet; qo.report_s = 1e9;
    rm_qat_result qr;
    CHECK_OK(rm_qat(&ctx, q, m, &qtrain, &qo, &qr), &ctx);
    CHECK(qr.epochs_done == 2 && isfinite(qr.last_loss), "QAT ran: %d epochs, loss %g", qr.epochs_done, qr.last_loss);
    /* verify on real test images: every block's int8 output, integer vs fake-quant */
    rm_qnet *net = NULL;
    CHECK_OK(rm_quant_export(&ctx, q, &net), &ctx);
    rm_verify_report rep;
    CHECK_OK(rm_quant_verify(&ctx, q, net, &ev, 0, RM_IE_AUTO, 50, &rep), &ctx);
    printf("verify (%d images, %s): int %.3f fake-quant %.3f fp32 %.3f; logit |err| mean %.3g max %.3g; %ld stream mismatches; "
           "fp32 vs fq |err| mean %.3f; LUT64 max err %d codes; %.0f img/s (%.1f s)\n",
           rep.n, rm_ie_path_name(rep.path), (double)rep.int_correct / rep.n, (double)rep.fq_correct / rep.n,
           (double)rep.fp_correct / rep.n, rep.err_mean, rep.err_max, rep.block_mismatch, rep.fp_err_mean, rep.lut_err_max,
           rep.int_imgs_per_s, rm_now() - t0);
    CHECK(rep.block_mismatch == 0 && rep.logit_mismatch_images == 0 && rep.first_mismatch < 0,
          "integer engine == fake-quant on every block output (%ld differ, first image %d)", rep.block_mismatch, rep.first_mismatch);
    CHECK(rep.int_correct == rep.fq_correct, "integer accuracy %d == fake-quant accuracy %d", rep.int_correct, rep.fq_correct);
    CHECK(rep.err_max == 0, "logit error %g", rep.err_max);
    CHECK((double)rep.int_correct / rep.n > 0.13, "the quantised model learned something: %.3f", (double)rep.int_correct / rep.n);
    long ovf = 0, bound_bad = 0;
    for (int i = 0; i < rep.nstat; i++) {
        ovf += rep.stat[i].overflow;
        bound_bad += rep.stat[i].acc_max > rep.stat[i].acc_bound || -rep.stat[i].acc_min > rep.stat[i].acc_bound;
    }
    CHECK(rep.nstat == 3 + 9 * 4 && ovf == 0 && bound_bad == 0, "stats: %d layers, %ld overflows, %ld bound violations", rep.nstat, ovf, bound_bad);
    /* each path forced in turn against the fake-quant forward directly */
    int n = 64;
    int8_t *zf = malloc((size_t)n * 10), *df = malloc((size_t)n * 8 * 64 * 96);
    int idx[64];
    for (int i = 0; i < n; i++) idx[i] = 100 + i;
    CHECK_OK(rm_fq_forward(&ctx, q, &test, idx, n, RM_AUG_NONE, 0, 0, zf, NULL, df, NULL), &ctx);
    all_paths(&ctx, net, test.pixels + (size_t)100 * 3072, n, "QAT lerp_psa h96", zf, df);
    printf("real QAT test: %.1f s\n", rm_now() - t0);
    free(zf); free(df);
    rm_qnet_free(net);
    rm_qmodel_free(q);
    rm_model_free(m);
    rm_dataset_free(&calib); rm_dataset_free(&val); rm_dataset_free(&qtrain); rm_dataset_free(&ev);
    rm_dataset_free(&train); rm_dataset_free(&test);
}

int main(void) {
    rm_set_threads(0);
    test_synthetic();
    test_pruned();
    test_real_qat();
    TEST_END();
}
