/* test_hls_net.c - `hls emit` of integer layer-list nets and its C simulation on real data: a vertebral MLP
 * (8-bit input codes, 16-bit first layer, binary XNOR-popcount layers) on its whole 62-sample test split, and
 * a MiniMNIST CNN with ternary and 3-bit hidden convs, a strided conv and a ternary classifier on 100 test
 * images, and nets with 2-bit weights and 2-bit activations (multi-threshold stages, code x code MACs, maxpool
 * of codes): a w2a2 vertebral MLP on its whole test split, a MiniMNIST CNN mixing sign bits and 2-bit codes on
 * 50 images: the host-compiled design equals the integer engine on every stage output (bits or codes) and
 * every accumulator; an edited accumulator in net_samples.bin is caught (the testbench can fail); nets with a float front
 * are refused with one line. Prints SKIP for the C simulation when no C++ compiler is installed. */
#include "tests/tutil.h"
#include "core/bnn.h"
#include "core/net.h"
#include "core/table.h"
#include "core/train.h"
#include "hlsgen/emit.h"
#include "hlsgen/emit_net.h"
#include "hlsgen/synth.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int have_cxx(void) {
    char p[1024];
    const char *env = getenv("CXX");
    return (env && *env && rm_hls_which(env, p, sizeof p)) || rm_hls_which("g++", p, sizeof p) || rm_hls_which("c++", p, sizeof p);
}

static rm_model *trained(const char *spec, const rm_dataset *train, int epochs, int limit) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    if (rm_model_new_net(&ctx, &m, spec, 1)) { CHECK(0, "%s: %s", spec, ctx.msg); return NULL; }
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    oc.lr = 1e-2f;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.epochs = epochs; o.limit = limit; o.batch = 32; o.aug = RM_AUG_NONE;
    rm_train_result res;
    CHECK_OK(rm_train(&ctx, m, &opt, train, &o, &res), &ctx);
    rm_optim_free(&opt);
    return m;
}

/* emit + csim of m on the first n images of test; returns the csim's checked count */
static long emit_csim(const char *what, rm_model *m, const rm_dataset *test, int n, const char *dir, int tamper) {
    rm_ctx ctx = {0};
    rm_bnet *e = NULL;
    CHECK_OK(rm_bnet_build(&ctx, m, &e), &ctx);
    if (!e) return 0;
    rm_bnn_check ck;
    CHECK_OK(rm_bnet_verify(&ctx, e, test, 128, &ck), &ctx);
    CHECK(ck.logit_mismatch == 0 && ck.bit_mismatch == 0, "%s: the engine equals the float forward", what);
    rm_hls_net_info info;
    CHECK_OK(rm_hls_net_emit(&ctx, dir, e, test, n, NULL, 0, what, &info), &ctx);
    CHECK(info.samples == n && info.nfiles == 8, "%s: %d samples, %d files", what, info.samples, info.nfiles);
    long checked = 0;
    if (!have_cxx()) printf("SKIP %s csim: no C++ compiler (apt-get install g++)\n", what);
    else {
        rm_hls_csim_result r;
        CHECK_OK(rm_hls_csim(&ctx, dir, NULL, &r), &ctx);
        printf("%s: csim %ld values of %d samples, %ld mismatches (engine accuracy %.1f%% on %d images)\n", what, r.checked, r.samples,
               r.mismatches, 100.0 * ck.correct / ck.n, ck.n);
        CHECK(r.result_seen && r.samples == n && r.mismatches == 0 && r.checked > (long)n * m->cfg.K * 2,
              "%s: every stage and accumulator bit-exact (%ld checked)", what, r.checked);
        checked = r.checked;
        if (tamper) {
            /* the final accumulator of the last sample, +1: the stage check and the top check both catch it */
            char p[1200];
            snprintf(p, sizeof p, "%s/net_samples.bin", dir);
            FILE *f = fopen(p, "r+b");
            CHECK(f != NULL, "open %s", p);
            if (f) {
                fseek(f, -8, SEEK_END);   /* acc[K-1], then the label */
                int32_t a;
                CHECK(fread(&a, 4, 1, f) == 1, "read the accumulator");
                a++;
                fseek(f, -8, SEEK_END);
                fwrite(&a, 4, 1, f);
                fclose(f);
                rm_ctx c2 = {0};
                int rc = rm_hls_csim(&c2, dir, NULL, &r);
                CHECK(rc != RM_OK && r.mismatches == 2 && strstr(c2.msg, "2 of"), "%s: an edited accumulator is reported: %s", what, c2.msg);
            }
        }
    }
    rm_bnet_free(e);
    return checked;
}

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    char tmpl[] = "/tmp/test_hls_net_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL, "temporary directory");
    if (!dir) TEST_END();
    char d1[200], d2[200], d3[200], d4[200], d5[200];
    snprintf(d1, sizeof d1, "%s/mlp", dir); snprintf(d2, sizeof d2, "%s/cnn", dir); snprintf(d3, sizeof d3, "%s/float", dir);
    snprintf(d4, sizeof d4, "%s/w2a2mlp", dir); snprintf(d5, sizeof d5, "%s/w2a2cnn", dir);

    rm_dataset all = {0}, vtr = {0}, vte = {0};
    if (rm_vertebral_load(&ctx, &all, DATA_DIR "/vertebral/column_3C.dat", NULL)) { printf("SKIP: no vertebral data (%s)\n", ctx.msg); TEST_END(); }
    CHECK_OK(rm_split_stratified(&ctx, &all, 0.2, 1, &vtr, &vte), &ctx);
    rm_model *m = trained("input=6 quant(8) linear(32,w=int16) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) linear(3,w=binary)",
                          &vtr, 15, 0);
    if (m) emit_csim("vertebral MLP", m, &vte, vte.n, d1, 1);
    rm_model_free(m);
    /* w2a2: 2-bit weights, 2-bit activations (codes -2..1) from multi-thresholds */
    m = trained("input=6 quant(8) linear(16,w=int2) bn quant(2,range=1) linear(16,w=int2) bn quant(2,range=1) linear(3,w=int2) bn",
                &vtr, 15, 0);
    if (m) emit_csim("vertebral w2a2 MLP", m, &vte, vte.n, d4, 0);
    rm_model_free(m);

    rm_dataset mtr = {0}, mte = {0};
    if (rm_minimnist_load(&ctx, DATA_DIR "/mnist", 1, &mtr, &mte)) { printf("SKIP: no MNIST (%s)\n", ctx.msg); TEST_END(); }
    m = trained("input=1x28x28 quant(8) conv(8,pad=1,w=int8) bn sign conv(16,pad=1,w=ternary) bn sign maxpool(2) "
                "conv(16,stride=2,w=int3) bn sign linear(10,w=ternary) bn", &mtr, 1, 1000);
    if (m) emit_csim("MiniMNIST ternary/int3 CNN", m, &mte, 100, d2, 0);
    rm_model_free(m);
    /* sign and 2-bit codes mixed: int8 conv -> sign bits -> int2 conv -> 2-bit codes -> maxpool of codes ->
     * (flatten of codes) int3 linear on codes -> sign -> binary classifier */
    m = trained("input=1x28x28 quant(8) conv(8,pad=1,w=int8) bn sign conv(16,stride=2,w=int2) bn quant(2,range=1) maxpool(2) "
                "linear(32,w=int3) bn sign linear(10,w=binary) bn", &mtr, 1, 500);
    if (m) emit_csim("MiniMNIST CNN, sign and 2-bit codes mixed", m, &mte, 50, d5, 0);
    rm_model_free(m);

    /* a float front (no input quantiser) has no integer input: refused */
    m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=6 linear(8,w=int8) bn sign linear(3,w=binary)", 1), &ctx);
    rm_bnet *e = NULL;
    CHECK_OK(rm_bnet_build(&ctx, m, &e), &ctx);
    rm_ctx c2 = {0};
    CHECK(e && rm_hls_net_emit(&c2, d3, e, &vte, 4, NULL, 0, NULL, NULL) != RM_OK && strstr(c2.msg, "float front") &&
          access(d3, F_OK) != 0, "float front refused before writing: %s", c2.msg);
    rm_bnet_free(e);
    rm_model_free(m);
    rm_dataset_free(&all); rm_dataset_free(&vtr); rm_dataset_free(&vte); rm_dataset_free(&mtr); rm_dataset_free(&mte);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_END();
}
