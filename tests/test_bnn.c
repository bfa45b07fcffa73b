/* test_bnn.c - the integer engine on real MNIST: binarised MLPs and CNNs (16-bit first layer, binary conv /
 * fc, sign activations with ReSTE, BN folded into thresholds), all-integer nets with 8-bit input codes and
 * ternary / n-bit hidden layers (bit planes), nets with n-bit weights and n-bit activations (w2a2, w4a4 MLPs,
 * a w4a4 CNN, a float front ending in quant(2): multi-thresholds, code x code products), trained briefly,
 * then run by the engine on 1,000 test images: every hidden bit / code equals the float forward's, the
 * logits are identical, the portable, AVX-512 (VPOPCNTDQ, VNNI) and reference paths agree, and unsupported
 * nets are refused. The thresholds of every hidden stage give the float forward's activation at every
 * accumulator of the stage's range (sampled around each threshold when the range is large). A tiny net
 * (4-bit input, 3/2-bit weights, 2/3-bit activations) with random BatchNorms (negative gammas: decreasing
 * codes) on random inputs, each path. SIMD-block pruning (prune.h) of an all-integer CNN: the engine with
 * masks reads only the kept words / channels of its ternary and n-bit layers and gives, on every path, the
 * accumulators of the same engine without masks on the same zeroed weights, and still every hidden bit of
 * the float forward. */
#include "tests/tutil.h"
#include "core/bnn_impl.h"
#include "core/prune.h"
#include <unistd.h>
#include "core/net.h"
#include "core/train.h"
#include <stdlib.h>
#include <string.h>

/* every hidden stage: the thresholds give the float kernels' activation at every accumulator in [-bound, bound]
 * when the bound is at most 2^12, else at every threshold +-2 and 2,000 random accumulators */
static void check_thresholds(const char *what, rm_bnet *e) {
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        if ((s->type != S_LINEAR && s->type != S_CONV) || s->final) continue;
        int32_t *a = malloc(sizeof(int32_t) * s->rows), *b = malloc(sizeof(int32_t) * s->rows);
        long n = 0, bad = 0;
        int64_t B = s->bound, first_bad = 0;
#define TRY(acc) do { int64_t ac_ = (acc); if (ac_ < -B || ac_ > B) break; \
        if (rm_bnet_stage_acts(e, i, ac_, a, b)) { bad++; break; } \
        for (int o = 0; o < s->rows; o++) { n++; if (a[o] != b[o] && !bad++) first_bad = ac_; } } while (0)
        int full = B <= 1 << 12;
        if (full) for (int64_t acc = -B; acc <= B; acc++) TRY(acc);
        else {
            uint64_t rs = 11;
            for (size_t j = 0; j < (size_t)s->rows * s->nthr; j++)
                for (int d = -2; d <= 2; d++) TRY((int64_t)s->thr[j] + d);
            for (int j = 0; j < 2000; j++) TRY((int64_t)(rm_rng_next(&rs) % (uint64_t)(2 * B + 1)) - B);
        }
#undef TRY
        CHECK(n > 0 && bad == 0, "%s stage %d (%s%d, bound %lld): thresholds == float kernels on %s (%ld of %ld differ, first at %lld)", what, i,
              s->out_codes ? "quant" : "sign", s->out_codes ? s->act_bits : 1, (long long)B, full ? "every accumulator" : "samples", bad, n,
              (long long)first_bad);
        free(a); free(b);
    }
}

/* every path on ds: verify bit-exact (hidden bits / codes and logits), the same logits from each path */
static void check_paths(const char *what, rm_bnet *e, const rm_dataset *ds, float facc) {
    rm_ctx ctx = {0};
    rm_model *m = rm_bnet_model(e);
    int K = m->cfg.K, nb = ds->n < 200 ? ds->n : 200;
    int paths[3] = {RM_BNN_PORTABLE, RM_BNN_VPOPCNT, RM_BNN_REFERENCE};
    float *z[3];
    for (int p = 0; p < 3; p++) z[p] = malloc(sizeof(float) * K * nb);
    for (int p = 0; p < 3; p++) {
        int got = rm_bnet_set_path(e, paths[p]);
        rm_bnn_check ck;
        CHECK_OK(rm_bnet_verify(&ctx, e, ds, 200, &ck), &ctx);
        printf("  path %s: engine acc %.2f%%, agree %d/%d, hidden activations %ld, mismatching %ld, max logit diff %g\n",
               rm_bnn_path_name(got), 100.0 * ck.correct / ck.n, ck.agree, ck.n, ck.bits, ck.bit_mismatch, ck.max_logit_err);
        CHECK(ck.n == ds->n && ck.agree == ck.n, "%s %s: engine predictions equal the float forward's (%d/%d)", what, rm_bnn_path_name(got), ck.agree, ck.n);
        CHECK(ck.bits > 0 && ck.bit_mismatch == 0, "%s %s: every hidden activation equals the float forward's (%ld of %ld differ)", what,
              rm_bnn_path_name(got), ck.bit_mismatch, ck.bits);
        CHECK(ck.max_logit_err == 0 && ck.logit_mismatch == 0, "%s %s: logits identical (max diff %g, %d images differ)", what, rm_bnn_path_name(got),
              ck.max_logit_err, ck.logit_mismatch);
        if (facc >= 0) CHECK(fabsf((float)ck.correct / ck.n - facc) < 1e-6f, "engine accuracy equals the float accuracy");
        int *idx = malloc(sizeof(int) * nb), *y = malloc(sizeof(int) * nb);
        float *x = malloc(sizeof(float) * nb * rm_model_input_size(m));
        for (int i = 0; i < nb; i++) idx[i] = i;
        rm_make_batch_flat(ds, idx, nb, x, y);
        CHECK_OK(rm_bnet_forward(&ctx, e, x, nb, z[p]), &ctx);
        free(x); free(idx); free(y);
    }
    CHECK(!memcmp(z[0], z[1], sizeof(float) * K * nb) && !memcmp(z[0], z[2], sizeof(float) * K * nb),
          "%s: portable, AVX-512 and reference paths give identical logits", what);
    for (int p = 0; p < 3; p++) free(z[p]);
    rm_bnet_set_path(e, RM_BNN_AUTO);
}

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
        check_paths(spec, e, test, facc);
        check_thresholds(spec, e);
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
        CHECK(nlists >= 3 && nskip == nlists, "%s: every pruned stage visits fewer words / codes (%d of %d)", spec, nskip, nlists);
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
        /* qsave / qload: the masks come back, the loaded engine skips the same inputs with the same results */
        char path[] = "/tmp/resmlp-bnnprune-XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        CHECK_OK(rm_bnet_save(&ctx, path, e), &ctx);
        rm_model *lm = NULL;
        rm_bnet *le = NULL;
        CHECK_OK(rm_bnet_load(&ctx, path, &lm, &le), &ctx);
        if (le) {
            int same = le->ns == e->ns;
            for (int i = 0; same && i < e->ns; i++) {
                const bstage *s = &e->st[i], *t = &le->st[i];
                same &= s->pruned_in == t->pruned_in && s->ndk == t->ndk && !s->kco == !t->kco;
                if (same && s->kco) same &= !memcmp(s->kco, t->kco, sizeof(int32_t) * ((s->type == S_CONV ? s->k * s->k : 1) + 1));
            }
            CHECK(same, "%s: qload: every stage skips the same inputs", spec);
            for (int p = 0; p < 3; p++) {
                int got = rm_bnet_set_path(le, paths[p]);
                rm_bnet_set_path(e, paths[p]);
                CHECK_OK(rm_bnet_forward_acc(&ctx, e, x, B, a0), &ctx);
                CHECK_OK(rm_bnet_forward_acc(&ctx, le, x, B, a), &ctx);
                CHECK(!memcmp(a, a0, sizeof(int64_t) * B * 10), "%s: qload: path %s accumulators identical", spec, rm_bnn_path_name(got));
            }
        }
        rm_bnet_free(le); rm_model_free(lm);
        /* tampered masks are refused, naming the layer: a kept block (nonzero weights) marked pruned, a SIMD that
         * does not divide the inputs, a wrong block count */
        rm_prune_layer *L = NULL;
        for (int i = 0; m->prune && i < m->prune->n; i++) if (m->prune->l[i].npruned) L = &m->prune->l[i];
        int kb = -1;
        for (int b = 0; L && b < L->nblocks; b++) if (!L->mask[b]) { kb = b; break; }
        if (kb >= 0) {
            char want[32];
            snprintf(want, sizeof want, "layer %d (", L->index);
            for (int c = 0; c < 3; c++) {
                int simd = L->simd, nb = L->nblocks;
                if (c == 0) L->mask[kb] = 1;
                if (c == 1) L->simd = L->cols + 1;
                if (c == 2) L->nblocks--;
                CHECK_OK(rm_bnet_save(&ctx, path, e), &ctx);
                L->mask[kb] = 0; L->simd = simd; L->nblocks = nb;
                rm_ctx c2 = {0};
                int r = rm_bnet_load(&c2, path, &lm, &le);
                const char *msg = c == 0 ? "holds weight" : c == 1 ? "does not divide" : "blocks, but SIMD";
                CHECK(r == RM_ERR && strstr(c2.msg, want) && strstr(c2.msg, msg) && !lm && !le, "%s: tampered mask %d refused: %s", spec, c, c2.msg);
            }
        }
        unlink(path);
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
    rm_dataset test300 = {0};   /* the CNNs' three paths on 300 images (the reference conv loops are slow) */
    CHECK_OK(rm_dataset_slice(&ctx, &test300, &test, 0, 300), &ctx);
    /* pruned n-bit weights on n-bit activation codes (multi-thresholds, code x code products) */
    check_pruned("input=1x28x28 quant(8) conv(8,pad=1,w=int4) bn quant(4,range=1) conv(16,pad=1,w=int4) bn quant(4,range=1) maxpool(2) "
                 "linear(10,w=int4) bn", "3,8,16", &train, &test300);
    /* n-bit weights and n-bit activations (quant(bits) after BN: multi-thresholds; code x code products) */
    check_net("input=784 quant(8) linear(64,w=int8) bn quant(2,range=1) linear(64,w=int2) bn quant(2,range=1) linear(10,w=int2) bn",
              &train, &test, 2048);
    check_net("input=784 quant(8) linear(64,w=int4) bn quant(4,range=1) linear(64,w=int4) bn quant(4,range=1) linear(10,w=int4)",
              &train, &test, 2048);
    check_net("input=1x28x28 quant(8) conv(8,pad=1,w=int4) bn quant(4,range=1) conv(16,pad=1,w=int4) bn quant(4,range=1) maxpool(2) "
              "linear(32,w=int4) bn quant(4,range=1) linear(10,w=int4)", &train, &test300, 1024);
    /* whole-word pixels (64 and 128 channels): binary convs read full windows straight from the map, border
     * windows (pad 1) through the patch, stride 2; an 8-bit first conv computed a row of positions at once */
    check_net("input=1x28x28 quant(8) conv(64,pad=1,w=int8) bn sign conv(64,pad=1,w=binary) bn sign maxpool(2) "
              "conv(128,stride=2,w=binary) bn sign conv(64,w=binary) bn sign linear(10,w=binary) bn", &train, &test300, 512);
    /* a float front ending in quant(2); codes into a sign stage, then bits into codes again */
    check_net("input=1x28x28 conv(8,pad=1) bn quant(2,range=1) conv(16,stride=2,w=int2) bn sign maxpool(2) linear(32,w=binary) bn "
              "quant(3,range=1) linear(10,w=int3) bn", &train, &test300, 1024);

    /* a tiny net with random weights and BatchNorms (gammas of both signs: increasing and decreasing codes),
     * random inputs: thresholds on every accumulator, the engine on every path */
    {
        const char *spec = "input=16 quant(4) linear(8,w=int3) bn quant(2,range=1) linear(8,w=int2) bn quant(3,range=1) linear(3,w=int2) bn";
        rm_model *m = NULL;
        CHECK_OK(rm_model_new_net(&ctx, &m, spec, 5), &ctx);
        uint64_t rs = 7;
        int bn_layers[3] = {2, 5, 8};
        for (int j = 0; j < 3 && m; j++) {
            char nm[64];
            float *g, *b, *rmn, *rv;
            snprintf(nm, sizeof nm, "layers.%d.weight", bn_layers[j]); g = rm_model_tensor_data(m, nm, NULL);
            snprintf(nm, sizeof nm, "layers.%d.bias", bn_layers[j]); b = rm_model_tensor_data(m, nm, NULL);
            snprintf(nm, sizeof nm, "layers.%d.running_mean", bn_layers[j]); rmn = rm_model_tensor_data(m, nm, NULL);
            snprintf(nm, sizeof nm, "layers.%d.running_var", bn_layers[j]); rv = rm_model_tensor_data(m, nm, NULL);
            CHECK(g && b && rmn && rv, "BN tensors of layer %d", bn_layers[j]);
            if (!(g && b && rmn && rv)) continue;
            for (int o = 0; o < (j < 2 ? 8 : 3); o++) {
                g[o] = (o % 3 == 1 ? -1 : 1) * (0.3f + rm_rng_uniform(&rs));
                b[o] = rm_rng_uniform(&rs) - 0.5f;
                rmn[o] = 0.2f * rm_rng_normal(&rs);
                rv[o] = 0.05f + 0.5f * rm_rng_uniform(&rs);
            }
        }
        rm_dataset rnd = {0};
        rnd.n = 300; rnd.c = 16; rnd.h = rnd.w = 1; rnd.nclass = 3;
        rnd.feat = malloc(sizeof(float) * 300 * 16); rnd.labels = malloc(300);
        for (int j = 0; j < 300 * 16; j++) rnd.feat[j] = 3 * rm_rng_normal(&rs);
        for (int j = 0; j < 300; j++) rnd.labels[j] = (uint8_t)(j % 3);
        snprintf(rnd.name, sizeof rnd.name, "random");
        rm_bnet *e = NULL;
        if (m) CHECK_OK(rm_bnet_build(&ctx, m, &e), &ctx);
        if (e) {
            int ndec = 0, nq = 0;
            for (int i = 0; i < e->ns; i++)
                if (e->st[i].out_codes) { nq++; for (int o = 0; o < e->st[i].rows; o++) ndec += e->st[i].dir[o] < 0; }
            CHECK(nq == 2 && ndec > 0, "two multi-threshold stages, %d decreasing rows", ndec);
            check_thresholds("tiny random net", e);
            check_paths("tiny random net, random inputs", e, &rnd, -1);
        }
        rm_bnet_free(e);
        rm_dataset_free(&rnd);
        rm_model_free(m);
    }

    /* refused, with the layer named */
    struct { const char *spec, *msg; } bad[] = {
        {"input=6 linear(8) relu linear(3)", "needs sign or n-bit quant(bits) activations"},
        {"input=6 quant(8) linear(8) relu linear(3)", "needs sign or n-bit quant(bits) activations"},
        {"input=6 linear(8) bn sign linear(8) bn sign linear(3)", "layer 3 (linear): weights must be binary, ternary or intN"},
        {"input=6 linear(8) bn quant(2) linear(8) bn sign linear(3)", "layer 3 (linear): weights must be binary, ternary or intN"},
        {"input=6 quant(8) linear(8,w=int4) bn quant(10,range=1) linear(3,w=int4)", "layer 3 (quant(10)): n-bit activations become 2^bits-1 thresholds"},
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
    rm_dataset_free(&train); rm_dataset_free(&test); rm_dataset_free(&test300);
    TEST_END();
}
