/* test_prune.c - SIMD-block pruning: SIMD lists (repeat, auto, an error naming the layer SIMD does not
 * divide), blocks of SIMD consecutive inputs zeroed smallest-norm first (L1 and L2), step-wise sparsity
 * only adds blocks, masks survive an optimiser step (AdamW with weight decay), a training epoch, a
 * checkpoint save/load and a params copy; a ResMLP's masks drop folds and multipliers in the HLS estimate;
 * the masks survive qsave / qload of the integer ResMLP (same kept blocks, identical engine outputs, a
 * tampered mask refused) and malformed mask tensors are refused naming the layer; the FINN folding estimate of
 * a pruned layer-list net by hand (hardware SIMD equal to, smaller and larger than the pruning SIMD; binary
 * layers skip nothing). */
#include "tests/tutil.h"
#include "core/prune.h"
#include "core/train.h"
#include "core/checkpoint.h"
#include "hlsgen/estimate.h"
#include "hlsgen/net_est.h"
#include "core/quant.h"
#include "core/safetensors.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* block b of (rows, cols) w with simd s is all zero */
static int block_zero(const float *w, int rows, int cols, int s, int b) {
    for (int r = 0; r < rows; r++) for (int k = 0; k < s; k++) if (w[r * cols + b * s + k] != 0) return 0;
    return 1;
}
static int masks_ok(rm_model *m) {   /* every masked block is zero, every unmasked one is not */
    for (int i = 0; i < m->prune->n; i++) {
        rm_prune_layer *L = &m->prune->l[i];
        const float *w = rm_model_tensor_data(m, L->name, NULL);
        for (int b = 0; b < L->nblocks; b++) if (block_zero(w, L->rows, L->cols, L->simd, b) != L->mask[b]) return 0;
    }
    return 1;
}

/* qsave / qload of a pruned integer ResMLP: the masks come back (same kept lists), every engine gives the
 * same logits and sublayer streams as before, the float state keeps them (re-export has the same masks); a
 * mask marking a kept block (nonzero codes) as pruned is refused naming the layer */
static void qfile_round_trip(rm_qmodel *q, rm_qnet *net, const rm_dataset *ds) {
    rm_ctx ctx = {0};
    char path[] = "/tmp/resmlp-pruneq-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    rm_qlin *a[2 + 3 * RM_MAXL];
    int na = 0;
    a[na++] = &net->embed;
    for (int l = 0; l < net->L; l++) { a[na++] = &net->blk[l].lin; a[na++] = &net->blk[l].fc1; a[na++] = &net->blk[l].fc2; }
    a[na++] = &net->cls;
    CHECK_OK(rm_qmodel_save(&ctx, path, q, net), &ctx);
    rm_qmodel *q2 = NULL;
    rm_qnet *n2 = NULL, *n3 = NULL;
    CHECK_OK(rm_qmodel_load(&ctx, path, &q2, &n2), &ctx);
    if (q2) CHECK_OK(rm_quant_export(&ctx, q2, &n3), &ctx);
    if (n2 && n3) {
        rm_qlin *b[2 + 3 * RM_MAXL], *c[2 + 3 * RM_MAXL];
        int nb = 0;
        b[nb] = &n2->embed; c[nb++] = &n3->embed;
        for (int l = 0; l < n2->L; l++) {
            b[nb] = &n2->blk[l].lin; c[nb++] = &n3->blk[l].lin;
            b[nb] = &n2->blk[l].fc1; c[nb++] = &n3->blk[l].fc1;
            b[nb] = &n2->blk[l].fc2; c[nb++] = &n3->blk[l].fc2;
        }
        b[nb] = &n2->cls; c[nb++] = &n3->cls;
        int npruned = 0, same = nb == na;
        for (int i = 0; same && i < na; i++) {
            npruned += a[i]->pruned != NULL;
            for (int r = 0; r < 2; r++) {
                const rm_qlin *x = r ? c[i] : b[i];
                same &= x->simd == a[i]->simd && x->nkeep == a[i]->nkeep && !x->pruned == !a[i]->pruned;
                if (same && a[i]->pruned) same &= !memcmp(x->keep, a[i]->keep, sizeof(int16_t) * a[i]->nkeep);
            }
        }
        CHECK(npruned >= 3 && same, "qload: %d pruned linears, the same SIMD and kept blocks after load and after re-export", npruned);
        const int n = 100, K = net->K;
        size_t dst = (size_t)2 * net->L * net->T * net->D;
        int8_t *z1 = malloc((size_t)n * K), *z2 = malloc((size_t)n * K), *d1 = malloc(n * dst), *d2 = malloc(n * dst);
        for (int p = RM_IE_REF; p < RM_IE_NPATHS; p++) {
            if (!rm_ie_path_available(p, net)) continue;
            CHECK_OK(rm_ie_run(&ctx, net, p, ds->pixels, n, z1, d1), &ctx);
            CHECK_OK(rm_ie_run(&ctx, n2, p, ds->pixels, n, z2, d2), &ctx);
            CHECK(!memcmp(z1, z2, (size_t)n * K) && !memcmp(d1, d2, n * dst), "qload: %s engine, logits and every sublayer stream identical",
                  rm_ie_path_name(p));
        }
        free(z1); free(z2); free(d1); free(d2);
    }
    rm_qnet_free(n2); rm_qnet_free(n3);
    rm_qmodel_free(q2);
    /* tampered: a kept block (nonzero codes) marked pruned in the file */
    rm_qlin *t = &net->blk[1].lin;
    int kb = t->pruned ? t->keep[0] : -1;
    if (kb >= 0) {
        t->pruned[kb] = 1;
        CHECK_OK(rm_qmodel_save(&ctx, path, q, net), &ctx);
        t->pruned[kb] = 0;
        rm_qnet *n4 = NULL;
        CHECK(rm_qmodel_load(&ctx, path, NULL, &n4) == RM_ERR && strstr(ctx.msg, "layers.1.tok.linear") && strstr(ctx.msg, "not zero") && !strchr(ctx.msg, '\n'),
              "a mask over nonzero codes refused: %s", ctx.msg);
        rm_qnet_free(n4);
    }
    unlink(path);
}

/* the mask tensors of the integer files (rm_prune_st_read): each malformed form is one error naming the layer */
static void mask_tensors(void) {
    rm_ctx ctx = {0};
    char path[] = "/tmp/resmlp-prunest-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct { int32_t hdr[2]; int nblk; int32_t blk[3]; const char *msg; } cs[] = {
        {{4, 3}, 2, {0, 2}, NULL},
        {{5, 3}, 1, {0}, "SIMD 5 does not divide its 12 inputs"},
        {{4, 2}, 1, {0}, "mask of 2 blocks, but SIMD 4 on 12 inputs makes 3"},
        {{4, 3}, 2, {2, 1}, "not ascending"},
        {{4, 3}, 1, {3}, "out of range"},
        {{4, 3}, 0, {0}, "without x.pruned_blocks"},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        rm_st_tensor t[2] = {{.name = "x.prune", .dtype = RM_I32, .ndim = 1, .shape = {2}, .data = cs[i].hdr, .nbytes = 8},
                             {.name = "x.pruned_blocks", .dtype = RM_I32, .ndim = 1, .shape = {cs[i].nblk}, .data = cs[i].blk, .nbytes = 4 * (size_t)cs[i].nblk}};
        CHECK_OK(rm_st_save(&ctx, path, t, cs[i].nblk ? 2 : 1, NULL, NULL, 0), &ctx);
        rm_st_file f = {0};
        CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
        int simd = 0;
        uint8_t *mask = NULL;
        int r = rm_prune_st_read(&ctx, &f, "x", "layer x", 12, &simd, &mask);
        if (!cs[i].msg) CHECK(r == RM_OK && simd == 4 && mask && mask[0] && !mask[1] && mask[2], "mask tensors read back: SIMD 4, blocks 0 and 2");
        else CHECK(r == RM_ERR && strstr(ctx.msg, "layer x") && strstr(ctx.msg, cs[i].msg), "malformed mask %zu refused: %s", i, ctx.msg);
        free(mask);
        rm_st_free(&f);
    }
    unlink(path);
}

/* `hls estimate` of a pruned layer-list net (hlsgen/net_est.h), by hand: conv 2x6x6 -> 4 (k=3, pad 1: IC 18,
 * 36 positions), linear 144 -> 3; pruning SIMD 9 and 16 at 0.5: conv 1 of 2 blocks, linear 4 of 9 */
static void net_estimate(void) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=2x6x6 conv(4,k=3,pad=1) relu linear(3)", 3), &ctx);
    if (!m) return;
    int simd[RM_MAX_WLAYERS];
    CHECK(rm_prune_simd_list(&ctx, m, "9,16", simd, RM_MAX_WLAYERS) == 2, "two weight layers");
    CHECK_OK(rm_prune_step(&ctx, m, simd, 0.5, RM_PRUNE_L1), &ctx);
    rm_net_est e;
    /* PE 2, 1; SIMD = the pruning SIMD: conv NF 2 x SF 2 x 36 = 144 dense, one fold skipped: 72; linear NF 3 x SF 9
     * = 27, four skipped: 15 */
    CHECK_OK(rm_hls_net_estimate(&ctx, m, "2,1", NULL, 5.0, &e), &ctx);
    CHECK(e.n == 2 && e.l[0].conv && e.l[0].pix == 36 && e.l[0].ic == 18 && e.l[0].nf == 2 && e.l[0].sf == 2 && e.l[0].skipped == 1 &&
          e.l[0].cycles_dense == 144 && e.l[0].cycles == 72, "conv: 144 dense, 72 pruned (%ld, %ld)", e.l[0].cycles_dense, e.l[0].cycles);
    CHECK(e.l[1].ic == 144 && e.l[1].nf == 3 && e.l[1].sf == 9 && e.l[1].skipped == 4 && e.l[1].cycles_dense == 27 && e.l[1].cycles == 15,
          "linear: 27 dense, 15 pruned (%ld, %ld)", e.l[1].cycles_dense, e.l[1].cycles);
    CHECK(e.total_dense == 171 && e.total == 87 && e.ii_dense == 144 && e.ii == 72, "totals 171 -> 87, interval 144 -> 72");
    char b[4096];
    rm_hls_net_estimate_format(&e, b, sizeof b);
    CHECK(strstr(b, "171 cycles dense, 87 pruned") && strstr(b, "1/2x9") && strstr(b, "4/9x16"), "table: %s", b);
    printf("%s", b);
    /* a smaller hardware SIMD: each pruned block is several skipped folds (9/3 = 3, 16/8 = 2) */
    CHECK_OK(rm_hls_net_estimate(&ctx, m, NULL, "3,8", 5.0, &e), &ctx);
    CHECK(e.l[0].sf == 6 && e.l[0].skipped == 3 && e.l[0].cycles_dense == 4 * 6 * 36 && e.l[0].cycles == 4 * 3 * 36 &&
          e.l[1].sf == 18 && e.l[1].skipped == 8 && e.l[1].cycles_dense == 54 && e.l[1].cycles == 30, "SIMD 3, 8: 864 -> 432, 54 -> 30");
    /* a larger one: a fold of three 16-blocks is skipped only when all three are pruned */
    const rm_prune_layer *P = &m->prune->l[1];
    int want = 0;
    for (int f = 0; f < 3; f++) want += P->mask[3 * f] && P->mask[3 * f + 1] && P->mask[3 * f + 2];
    CHECK_OK(rm_hls_net_estimate(&ctx, m, NULL, "18,48", 5.0, &e), &ctx);
    CHECK(e.l[0].skipped == 0 && e.l[0].cycles == e.l[0].cycles_dense && e.l[1].skipped == want && e.l[1].cycles == 3 * (3 - want),
          "SIMD 18, 48: conv nothing skipped, linear %d whole folds", want);
    CHECK(rm_hls_net_estimate(&ctx, m, "3", NULL, 5.0, &e) == RM_ERR && strstr(ctx.msg, "PE 3 does not divide the 4 outputs of conv 0"), "bad PE: %s", ctx.msg);
    CHECK(rm_hls_net_estimate(&ctx, m, NULL, "9,5", 5.0, &e) == RM_ERR && strstr(ctx.msg, "SIMD 5 does not divide the 144 inputs of linear"), "bad SIMD: %s", ctx.msg);
    rm_model_free(m);
    /* binary weights: a pruned block is still +-1, its folds run; the ternary layer's are skipped */
    m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=16 linear(8,w=binary) bn sign linear(4,w=ternary)", 3), &ctx);
    if (!m) return;
    CHECK(rm_prune_simd_list(&ctx, m, "4", simd, RM_MAX_WLAYERS) == 2, "two weight layers");
    CHECK_OK(rm_prune_step(&ctx, m, simd, 0.5, RM_PRUNE_L1), &ctx);
    CHECK_OK(rm_hls_net_estimate(&ctx, m, NULL, NULL, 5.0, &e), &ctx);
    CHECK(e.l[0].binary && e.l[0].npruned == 2 && e.l[0].skipped == 0 && e.l[0].cycles == 8 * 4 && !e.l[1].binary && e.l[1].skipped == 1 &&
          e.l[1].cycles == 4 * 1, "binary 32 cycles (nothing skipped), ternary 8 -> 4");
    rm_model_free(m);
}

int main(void) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=12 linear(20) relu linear(10) relu linear(3)", 3), &ctx);
    if (!m) TEST_END();
    int simd[RM_MAX_WLAYERS];
    CHECK(rm_prune_simd_list(&ctx, m, "4,5", simd, RM_MAX_WLAYERS) == 3 && simd[0] == 4 && simd[1] == 5 && simd[2] == 5,
          "4,5 -> 4,5,5 (a short list repeats its last)");
    CHECK(rm_prune_simd_list(&ctx, m, NULL, simd, RM_MAX_WLAYERS) == 3 && simd[0] == 12 && simd[1] == 10 && simd[2] == 10,
          "auto: the largest divisor <= 16 (%d %d %d)", simd[0], simd[1], simd[2]);
    CHECK(rm_prune_simd_list(&ctx, m, "5", simd, RM_MAX_WLAYERS) == RM_ERR && strstr(ctx.msg, "does not divide the 12 inputs of linear 0"),
          "SIMD 5 on 12 inputs refused: %s", ctx.msg);
    CHECK(rm_prune_simd_list(&ctx, m, "4,5,5,5", simd, RM_MAX_WLAYERS) == RM_ERR, "too many entries refused");

    /* layer 0: 12 inputs, SIMD 4 -> 3 blocks; plant norms so block 1 is the smallest in L1 but not in L2 */
    rm_prune_simd_list(&ctx, m, "4,5", simd, RM_MAX_WLAYERS);
    float *w0 = rm_model_tensor_data(m, "layers.0.weight", NULL), *w2 = rm_model_tensor_data(m, "layers.2.weight", NULL);
    for (int r = 0; r < 20; r++)
        for (int k = 0; k < 12; k++) {
            int b = k / 4;
            w0[r * 12 + k] = b == 0 ? 0.30f : b == 1 ? (r == 0 && k == 4 ? 2.0f : 0.01f) : 0.20f;   /* L1: b1 2.19 < b2 16 < b0 24 */
        }
    rm_model *m2 = NULL;
    rm_model_new_like(&ctx, &m2, m, 3);
    rm_model_copy_params(&ctx, m2, m);
    CHECK_OK(rm_prune_step(&ctx, m, simd, 0.5, RM_PRUNE_L1), &ctx);
    rm_prune_layer *L0 = &m->prune->l[0], *L1 = &m->prune->l[1];
    CHECK(L0->nblocks == 3 && L0->npruned == 1 && L0->mask[1], "L1: block 1 (smallest L1 norm) pruned of 3");
    CHECK(L1->nblocks == 4 && L1->npruned == 2 && m->prune->l[2].npruned == 1, "half the blocks of the others (%d, %d)", L1->npruned, m->prune->l[2].npruned);
    CHECK(masks_ok(m), "masked blocks zero, kept blocks not");
    CHECK_OK(rm_prune_step(&ctx, m2, simd, 0.5, RM_PRUNE_L2), &ctx);
    CHECK(m2->prune->l[0].mask[2] && !m2->prune->l[0].mask[1], "L2: block 2 (L2 0.89 < block 1's 2.0) pruned instead");
    uint8_t before[4];
    memcpy(before, L1->mask, 4);
    CHECK_OK(rm_prune_step(&ctx, m, simd, 0.75, RM_PRUNE_L1), &ctx);
    int sup = 1;
    for (int b = 0; b < 4; b++) sup &= !before[b] || L1->mask[b];
    CHECK(L1->npruned == 3 && sup, "0.75: 3 of 4 blocks, a superset of the 0.5 mask");
    CHECK(fabs(rm_prune_sparsity(m) - (20.0 * 8 + 10 * 15 + 3 * 5) / (240 + 200 + 30)) < 1e-9,
          "sparsity %.4f", rm_prune_sparsity(m));
    int simd_bad[3] = {6, 5, 5};
    CHECK(rm_prune_step(&ctx, m, simd_bad, 0.8, RM_PRUNE_L1) == RM_ERR, "changing SIMD of existing masks refused");

    /* an optimiser step with weight decay and a real gradient keeps them zero */
    rm_dataset d = {0};
    d.n = 64; d.c = 12; d.h = d.w = 1; d.nclass = 3;
    d.feat = malloc(sizeof(float) * 64 * 12); d.labels = malloc(64);
    uint64_t s = 5;
    for (int i = 0; i < 64 * 12; i++) d.feat[i] = rm_rng_normal(&s);
    for (int i = 0; i < 64; i++) d.labels[i] = (uint8_t)(i % 3);
    float w2copy[200];
    memcpy(w2copy, w2, sizeof w2copy);
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    oc.wd = 0.1f; oc.lr = 0.05f;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts to = rm_train_defaults();
    to.epochs = 2; to.batch = 16; to.report_s = 1e9;
    rm_train_result tr;
    CHECK_OK(rm_train(&ctx, m, &opt, &d, &to, &tr), &ctx);
    int moved = 0;
    for (int i = 0; i < 200; i++) moved += w2[i] != w2copy[i] && w2copy[i] != 0;
    CHECK(moved == 50, "training changed all 50 kept weights of layer 2 (%d)", moved);
    CHECK(masks_ok(m), "masked blocks still zero after 2 epochs of AdamW with weight decay");
    rm_optim_free(&opt);

    /* checkpoint round trip */
    char path[] = "/tmp/resmlp-prune-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_OK(rm_checkpoint_save(&ctx, path, m, NULL, NULL), &ctx);
    rm_model *l = NULL;
    CHECK_OK(rm_checkpoint_load(&ctx, path, &l), &ctx);
    if (l) {
        CHECK(l->prune && l->prune->n == 3, "masks loaded");
        int same = l->prune != NULL;
        for (int i = 0; same && i < 3; i++)
            same &= l->prune->l[i].simd == m->prune->l[i].simd && l->prune->l[i].npruned == m->prune->l[i].npruned &&
                    !memcmp(l->prune->l[i].mask, m->prune->l[i].mask, l->prune->l[i].nblocks);
        CHECK(same, "loaded masks equal the saved ones");
        float *lw = rm_model_tensor_data(l, "layers.2.weight", NULL);
        for (int i = 0; i < 200; i++) lw[i] += 1;   /* someone writes into pruned weights ... */
        rm_model_params_changed(l);                 /* ... the next parameter change zeroes them again */
        CHECK(masks_ok(l), "masks applied on params_changed after load");
        rm_model *c2 = NULL;
        rm_model_new_like(&ctx, &c2, l, 1);
        CHECK_OK(rm_model_copy_params(&ctx, c2, l), &ctx);
        CHECK(c2 && c2->prune && masks_ok(c2), "a params copy carries the masks");
        rm_model_free(c2);
    }
    rm_model_free(l);
    /* a corrupt mask is one clear error */
    CHECK(rm_prune_parse(&ctx, m2, "layers.0.weight:4:z") == RM_ERR && strstr(ctx.msg, "layers.0.weight mask digit"), "bad mask: %s", ctx.msg);
    CHECK(rm_prune_parse(&ctx, m2, "layers.9.weight:4:1") == RM_ERR && strstr(ctx.msg, "no weight layer"), "unknown layer: %s", ctx.msg);
    unlink(path);
    rm_model_free(m); rm_model_free(m2);
    free(d.feat); free(d.labels);

    /* ResMLP: masks on every Linear, and the HLS estimate with them */
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_RELU, 96);
    rm_model *r = NULL;
    CHECK_OK(rm_model_new(&ctx, &r, &c, 1), &ctx);
    if (r) {
        int n = rm_prune_simd_list(&ctx, r, "16,16,16,16", simd, RM_MAX_WLAYERS);
        CHECK(n == 1 + 3 * 4 + 1, "ResMLP weight layers: %d", n);
        CHECK_OK(rm_prune_step(&ctx, r, simd, 0.5, RM_PRUNE_L1), &ctx);
        CHECK(masks_ok(r) && r->prune->l[1].nblocks == 4 && r->prune->l[1].npruned == 2, "token mixing 64 -> 4 blocks of 16, 2 pruned");
        rm_hls_dims dims = {.D = 96, .T = 64, .P = 48, .h = 96, .L = 4, .classes = 10, .act = RM_HLS_ACT_RELU};
        rm_hls_design a, b;
        CHECK_OK(rm_hls_design_init(&ctx, &a, &dims, 5.0), &ctx);
        CHECK_OK(rm_hls_design_init(&ctx, &b, &dims, 5.0), &ctx);
        for (int i = 0; i < a.nstages; i++)   /* fold every matmul to SIMD 16 so blocks are folds */
            if (a.st[i].kind == RM_HLS_ST_MATMUL) { rm_hls_set_par(&ctx, &a, a.st[i].name, 1, 16); rm_hls_set_par(&ctx, &b, b.st[i].name, 1, 16); }
        rm_hls_estimate(&a, NULL);
        CHECK_OK(rm_hls_apply_prune(&ctx, &b, r), &ctx);
        int k = rm_hls_find_stage(&b, "blocks_0_mlp_linear_1");
        CHECK(k >= 0 && b.st[k].pruned_in == 48 && b.st[k].cycles * 2 - 64 * 2 < a.st[k].cycles + 64,
              "fc1 block 0: 48 of 96 inputs pruned, cycles %ld vs %ld", b.st[k].cycles, a.st[k].cycles);
        CHECK(b.ii < a.ii && b.latency < a.latency, "interval %ld < %ld, latency %ld < %ld", b.ii, a.ii, b.latency, a.latency);
        rm_hls_design p0, p1;   /* the paper's design point (SIMD = IN): no fold to skip, but fewer multipliers */
        rm_hls_design_init(&ctx, &p0, &dims, 5.0);
        rm_hls_design_init(&ctx, &p1, &dims, 5.0);
        rm_hls_apply_prune(&ctx, &p1, r);
        CHECK(p1.dsp < p0.dsp && p1.ii == p0.ii, "SIMD = IN: DSP %ld < %ld, same interval", p1.dsp, p0.dsp);
    }
    rm_model_free(r);

    mask_tensors();
    net_estimate();

    /* the integer engine on a pruned ResMLP: PTQ keeps the pruned blocks at int8 zero, engine == fake-quant */
    rm_dataset cif = {0};
    if (rm_cifar10_load(&ctx, &cif, DATA_DIR "/cifar-10-batches-bin/test_batch.bin", "test")) {
        printf("SKIP: integer-engine check: %s\n", ctx.msg);
        TEST_END();
    }
    rm_dataset small = {0};
    rm_dataset_slice(&ctx, &small, &cif, 0, 300);
    rm_dataset_free(&cif);
    rm_model_cfg cc = rm_model_default_cfg(RM_ACT_LERP_PSA, 16);
    cc.D = 16; cc.L = 2;
    rm_model *pm = NULL;
    CHECK_OK(rm_model_new(&ctx, &pm, &cc, 4), &ctx);
    if (pm) {
        CHECK_OK(rm_prune_step(&ctx, pm, NULL, 0.5, RM_PRUNE_L1), &ctx);   /* auto SIMD */
        rm_calib_opts co = rm_calib_defaults();
        co.npct = 2; co.pct[0] = 99; co.pct[1] = 100;
        rm_qmodel *q = NULL;
        rm_calib_result cr;
        CHECK_OK(rm_quant_ptq(&ctx, pm, &small, 1, &co, &q, &cr), &ctx);
        rm_qnet *net = NULL;
        if (q) CHECK_OK(rm_quant_export(&ctx, q, &net), &ctx);
        if (net) {
            const rm_prune_layer *fc1 = &pm->prune->l[2];   /* block 0 fc1 (H,D) */
            int zero = 1, any = 0;
            for (int b = 0; b < fc1->nblocks; b++)
                for (int o = 0; o < net->blk[0].fc1.OC; o++)
                    for (int k = 0; k < fc1->simd; k++) {
                        int8_t v = net->blk[0].fc1.w[o * net->blk[0].fc1.IC + b * fc1->simd + k];
                        if (fc1->mask[b]) zero &= v == 0; else any |= v != 0;
                    }
            CHECK(zero && any, "int8 fc1 of block 0: pruned blocks are zero codes, kept ones are not");
            rm_verify_report rep;
            CHECK_OK(rm_quant_verify(&ctx, q, net, &small, 100, RM_IE_AUTO, 10, &rep), &ctx);
            CHECK(rep.block_mismatch == 0 && rep.logit_mismatch_images == 0, "pruned model: integer engine bit-exact with fake-quant (%ld)", rep.block_mismatch);
            qfile_round_trip(q, net, &small);
        }
        rm_qnet_free(net);
        rm_qmodel_free(q);
    }
    rm_model_free(pm);
    rm_dataset_free(&small);
    TEST_END();
}
