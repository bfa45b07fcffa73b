/* test_bnn.c - the integer engine on real MNIST: binarised MLPs and CNNs (16-bit first layer, binary conv /
 * fc, sign activations with ReSTE, BN folded into thresholds), all-integer nets with 8-bit input codes and
 * ternary / n-bit hidden layers (bit planes), trained briefly, then run by the engine on 1,000 test images:
 * every hidden bit equals the float forward's sign output, the logits are identical, the portable and
 * AVX-512 VPOPCNTDQ paths agree, and unsupported nets are refused. SIMD-block pruning (prune.h) of an
 * all-integer CNN: the engine with masks reads only the kept words / channels of its ternary and n-bit
 * layers and gives, on every path, the accumulators of the same engine without masks on the same zeroed
 * weights, and still every hidden bit of the float forward. */
#include "tests/tutil.h"
#include "core/bnn_impl.h"
#include "core/prune.h"
#include "core/net.h"
#include "core/train.h"
#include <stdlib.h>
#include <string.h>

static void check_net(const char *spec, const rm_dataset *train, const rm_dataset *test, int limit) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    if (rm_model_new_net(&ctx, &m, spec, 3)) { CHECK(0, "%s: %s", spec, ctx.msg); return; }
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    oc.lr = 1e-2f;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 1; o.limit = limit; o.batch = 64; o.aug = RM_AUG_NONE;
    rm_train_result res;
    CHECK_OK(rm_train(&ctx, m, &opt, train, &o, &res), &ctx);
    float facc, floss;
    CHECK_OK(rm_evaluate(&ctx, m, test, 256, &facc, &floss), &ctx);
    rm_bnet *e = NULL;
    CHECK_OK(rm_bnet_build(&ctx, m, &e), &ctx);
    if (e) {
        char d[256];
        rm_bnet_describe(e, d, sizeof d);
        printf("%s\n  float acc %.2f%%; %s\n", spec, 100 * facc, d);
        int paths[3] = {RM_BNN_PORTABLE, RM_BNN_VPOPCNT, RM_BNN_REFERENCE};
        float *z[3] = {malloc(sizeof(float) * 10 * 200), malloc(sizeof(float) * 10 * 200), malloc(sizeof(float) * 10 * 200)};
        for (int p = 0; p < 3; p++) {
            int got = rm_bnet_set_path(e, paths[p]);
            rm_bnn_check ck;
            CHECK_OK(rm_bnet_verify(&ctx, e, test, 200, &ck), &ctx);
            printf("  path %s: engine acc %.2f%%, agree %d/%d, hidden bits %ld, mismatching %ld, max logit diff %g\n",
                   rm_bnn_path_name(got), 100.0 * ck.correct / ck.n, ck.agree, ck.n, ck.bits, ck.bit_mismatch, ck.max_logit_err);
            CHECK(ck.n == test->n && ck.agree == ck.n, "%s: engine predictions equal the float forward's (%d/%d)", rm_bnn_path_name(got), ck.agree, ck.n);
            CHECK(ck.bits > 0 && ck.bit_mismatch == 0, "%s: every hidden bit equals the float sign output (%ld of %ld differ)",
                  rm_bnn_path_name(got), ck.bit_mismatch, ck.bits);
            CHECK(ck.max_logit_err == 0 && ck.logit_mismatch == 0, "%s: logits identical (max diff %g, %d images differ)", rm_bnn_path_name(got),
                  ck.max_logit_err, ck.logit_mismatch);
            CHECK(fabsf((float)ck.correct / ck.n - facc) < 1e-6f, "engine accuracy equals the float accuracy");
            /* the same logits from both paths on one batch */
            int idx[200], y[200];
            float *x = malloc(sizeof(float) * 200 * rm_model_input_size(m));
            for (int i = 0; i < 200; i++) idx[i] = i;
            rm_make_batch_flat(test, idx, 200, x, y);
            CHECK_OK(rm_bnet_forward(&ctx, e, x, 200, z[p]), &ctx);
            free(x);
        }
        CHECK(!memcmp(z[0], z[1], sizeof(float) * 10 * 200) && !memcmp(z[0], z[2], sizeof(float) * 10 * 200),
              "portable, popcount and reference paths give identical logits");
        free(z[0]); free(z[1]); free(z[2]);
        CHECK(facc > 0.5f, "a short run learns: float acc %.3f", facc);
    }
    rm_bnet_free(e);
    rm_optim_free(&opt);
    rm_model_free(m);
}

static void check_pruned(const char *spec, const char *simd, const rm_dataset *train, const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_model *m = NULL, *d = NULL;
    if (rm_model_new_net(&ctx, &m, spec, 3)) { CHECK(0, "%s: %s", spec, ctx.msg); return; }
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    oc.lr = 1e-2f;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 1; o.limit = 1024; o.batch = 64; o.aug = RM_AUG_NONE;
    rm_train_result res;
    CHECK_OK(rm_train(&ctx, m, &opt, train, &o, &res), &ctx);
    int sl[RM_MAX_WLAYERS];
    CHECK(rm_prune_simd_list(&ctx, m, simd, sl, RM_MAX_WLAYERS) > 0, "simd=%s: %s", simd, ctx.msg);
    CHECK_OK(rm_prune_step(&ctx, m, sl, 0.5, RM_PRUNE_L1), &ctx);
    CHECK_OK(rm_model_new_like(&ctx, &d, m, 3), &ctx);
    CHECK_OK(rm_model_copy_params(&ctx, d, m), &ctx);
    rm_prune_free(d);   /* the same zeroed weights, no masks: the dense engine */
    rm_bnet *e = NULL, *e0 = NULL;
    CHECK_OK(rm_bnet_build(&ctx, m, &e), &ctx);
    CHECK_OK(rm_bnet_build(&ctx, d, &e0), &ctx);
    if (e && e0) {
        int nskip = 0, nlists = 0;
        for (int i = 0; i < e->ns; i++) {
            const bstage *s = &e->st[i];
            if (!s->pruned_in) continue;
            nlists++;
            if (s->wk == W_PLANES) nskip += s->wTk && s->ndk < s->nd;
            if (s->wk == W_INT) nskip += s->kco[s->type == S_CONV ? s->k * s->k : 1] < s->fan;
            printf("  stage %d (layer %d, %s): %d of %d inputs pruned, %s %d of %d\n", i, s->layer, s->wk == W_INT ? "int" : "planes",
                   s->pruned_in, s->fan, s->wk == W_INT ? "kept codes" : "kept words", s->wk == W_INT ? s->kco[s->type == S_CONV ? s->k * s->k : 1] : s->ndk,
                   s->wk == W_INT ? s->fan : s->nd);
        }
        CHECK(nlists >= 4 && nskip >= 4, "%s: pruned stages visit fewer words / codes (%d of %d)", spec, nskip, nlists);
        const int B = 200;
        int idx[200], y[200];
        float *x = malloc(sizeof(float) * B * rm_model_input_size(m));
        for (int i = 0; i < B; i++) idx[i] = i;
        rm_make_batch_flat(test, idx, B, x, y);
        int64_t *a = malloc(sizeof(int64_t) * B * 10), *a0 = malloc(sizeof(int64_t) * B * 10);
        rm_bnet_set_path(e0, RM_BNN_REFERENCE);
        CHECK_OK(rm_bnet_forward_acc(&ctx, e0, x, B, a0), &ctx);
        int paths[3] = {RM_BNN_PORTABLE, RM_BNN_VPOPCNT, RM_BNN_REFERENCE};
        for (int p = 0; p < 3; p++) {
            int got = rm_bnet_set_path(e, paths[p]);
            CHECK_OK(rm_bnet_forward_acc(&ctx, e, x, B, a), &ctx);
            CHECK(!memcmp(a, a0, sizeof(int64_t) * B * 10), "%s: pruned path %s = dense reference accumulators", spec, rm_bnn_path_name(got));
            rm_bnn_check ck;
            CHECK_OK(rm_bnet_verify(&ctx, e, test, 200, &ck), &ctx);
            CHECK(ck.bit_mismatch == 0 && ck.logit_mismatch == 0 && ck.agree == ck.n, "%s: pruned path %s: every hidden bit and logit of the float forward",
                  spec, rm_bnn_path_name(got));
            printf("  pruned path %s: accumulators = dense reference on %d images, acc %.2f%%\n", rm_bnn_path_name(got), B, 100.0 * ck.correct / ck.n);
        }
        free(x); free(a); free(a0);
    }
    rm_bnet_free(e); rm_bnet_free(e0);
    rm_optim_free(&opt);
    rm_model_free(m); rm_model_free(d);
}

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset train = {0}, full = {0}, test = {0};
    if (rm_mnist_load(&ctx, &train, DATA_DIR "/mnist", "train")) { printf("skip: no MNIST (%s)\n", ctx.msg); TEST_END(); }
    CHECK_OK(rm_mnist_load(&ctx, &full, DATA_DIR "/mnist", "test"), &ctx);
    CHECK_OK(rm_dataset_slice(&ctx, &test, &full, 0, 1000), &ctx);
    rm_dataset_free(&full);
    check_net("input=784 linear(128,w=int16) bn sign(grad=reste) linear(128,w=binary) bn sign(grad=reste) linear(10,w=binary)", &train, &test, 6000);
    check_net("input=1x28x28 quant(8) conv(16,pad=1,w=int16) bn sign(grad=reste) conv(32,pad=1,w=binary) bn sign(grad=reste) maxpool(2) "
              "linear(32,w=binary) bn sign(grad=reste) linear(10,w=binary) bn", &train, &test, 2048);
    /* conv with padding 0 and stride 2, a binary conv straight into a final linear, no bias */
    check_net("input=1x28x28 conv(8,k=3,stride=2,w=ternary) bn sign conv(16,k=3,w=binary,bias=off) bn sign maxpool(2) linear(10,w=binary)", &train, &test, 2048);

    /* all-integer nets (8-bit input codes): ternary and n-bit hidden layers as bit planes, on flat and
     * padded spatial inputs, a ternary final layer with its scales */
    check_net("input=784 quant(8) linear(64,w=int8) bn sign linear(64,w=ternary) bn sign(grad=reste) linear(64,w=int4) bn sign linear(10,w=int4)",
              &train, &test, 2048);
    check_net("input=1x28x28 quant(8) conv(8,pad=1,w=int8) bn sign conv(16,pad=1,w=ternary) bn sign maxpool(2) conv(16,pad=1,w=int3) bn sign "
              "maxpool(2) linear(10,w=ternary) bn", &train, &test, 1024);

    /* SIMD-block pruned: int8 conv (SIMD 3: a kernel row), ternary / int3 convs, ternary linear */
    check_pruned("input=1x28x28 quant(8) conv(8,pad=1,w=int8) bn sign conv(16,pad=1,w=ternary) bn sign maxpool(2) conv(16,pad=1,w=int3) bn sign "
                 "maxpool(2) linear(10,w=ternary) bn", "3,8,16,14", &train, &test);

    /* refused, with the layer named */
    struct { const char *spec, *msg; } bad[] = {
        {"input=6 linear(8) relu linear(3)", "needs sign activations"},
        {"input=6 linear(8) bn sign linear(8) bn sign linear(3)", "layer 3 (linear): weights must be binary, ternary or intN"},
        {"input=6 linear(8) bn sign linear(8,w=binary) relu linear(3,w=binary)", "layer 3 (linear): a hidden quantised layer must be followed by [bn] sign"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rm_model *m = NULL;
        rm_bnet *e = NULL;
        CHECK_OK(rm_model_new_net(&ctx, &m, bad[i].spec, 1), &ctx);
        rm_ctx c2 = {0};
        int r = rm_bnet_build(&c2, m, &e);
        CHECK(r != RM_OK && strstr(c2.msg, bad[i].msg), "'%s' refused: '%s'", bad[i].spec, c2.msg);
        rm_bnet_free(e);
        rm_model_free(m);
    }
    rm_dataset_free(&train); rm_dataset_free(&test);
    TEST_END();
}
