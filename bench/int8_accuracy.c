/* int8_accuracy.c - fp32 vs INT8 accuracy of a trained model on the CIFAR-10 test subset: post-training
 * quantisation (80/20 split of the training set, percentile calibration), then optional QAT (AdamW 1e-4
 * cosine to 1e-5, KD alpha 0.8 T 1) on the 80% part, each followed by `verify` (integer engine vs
 * fake-quant on every sublayer output, vs fp32).
 *
 * usage: build/bench/int8_accuracy MODEL.safetensors [--teacher self|T.safetensors] [--epochs E] [--lut 64|256]
 *                                  [--obs N] [--data DIR] [--save OUT.int8.safetensors]
 *   --teacher self (default) distils from MODEL's own fp32 version. Progress goes to stdout. */
#include "core/quant.h"
#include "core/checkpoint.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int progress(void *ud, const rm_train_stats *s, int end) {
    (void)ud;
    if (end) printf("  qat epoch %d/%d: loss %.4f, train acc %.3f, val (int8) %.4f, lr %.2e, %.0f img/s\n", s->epoch + 1,
                    s->epochs, s->loss, s->train_acc, s->test_acc, s->lr, s->imgs_per_s);
    fflush(stdout);
    return 0;
}
static void die(const rm_ctx *c) { fprintf(stderr, "int8_accuracy: %s\n", c->msg); exit(1); }

static void verify(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *test, const char *what) {
    rm_qnet *net;
    if (rm_quant_export(ctx, q, &net)) die(ctx);
    rm_verify_report r;
    if (rm_quant_verify(ctx, q, net, test, 0, RM_IE_AUTO, 100, &r)) die(ctx);
    printf("%s: int8 %.2f%%, fake-quant %.2f%%, fp32 (folded, these float weights) %.2f%%; integer vs fake-quant %s\n", what,
           100.0 * r.int_correct / r.n, 100.0 * r.fq_correct / r.n, 100.0 * r.fp_correct / r.n,
           r.block_mismatch || r.logit_mismatch_images ? "MISMATCH" : "bit-exact on every sublayer output");
    rm_qnet_free(net);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s MODEL.safetensors [--teacher self|T] [--epochs E] [--lut 64|256] [--obs N] [--data DIR] [--save OUT]\n", argv[0]);
        return 2;
    }
    const char *model = argv[1], *teacherp = "self", *data = "../shared/data/cifar-10-batches-bin", *save = NULL;
    int epochs = 0, lut = 64, obs = 10000;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--teacher")) teacherp = argv[i + 1];
        else if (!strcmp(argv[i], "--epochs")) epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lut")) lut = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--obs")) obs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--save")) save = argv[i + 1];
        else { fprintf(stderr, "int8_accuracy: unknown option %s\n", argv[i]); return 2; }
    }
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset train = {0}, test = {0};
    if (rm_cifar10_load(&ctx, &train, data, "train") || rm_cifar10_load(&ctx, &test, data, "test")) die(&ctx);
    rm_model *m;
    if (rm_checkpoint_load(&ctx, model, &m)) die(&ctx);
    float acc, loss;
    if (rm_evaluate(&ctx, m, &test, 250, &acc, &loss)) die(&ctx);
    printf("fp32 %s (%s h=%d): %.2f%% on %d test images\n", model, rm_act_name(m->cfg.act.kind), m->cfg.H, 100 * acc, test.n);
    double t0 = rm_now();
    rm_calib_opts co = rm_calib_defaults();
    co.obs_images = obs;
    rm_calib_result cr;
    rm_qmodel *q;
    if (rm_quant_ptq(&ctx, m, &train, lut == 64, &co, &q, &cr)) die(&ctx);
    printf("PTQ (%.0f s), %d-entry tables; validation accuracy (int8) per percentile:", rm_now() - t0, lut);
    for (int i = 0; i < cr.npct; i++) printf(" %g:%.4f", cr.pct[i], cr.acc[i]);
    printf(" -> %g\n", cr.pct[cr.best]);
    verify(&ctx, q, &test, "PTQ");
    if (epochs > 0) {
        rm_model *teacher = m;
        if (strcmp(teacherp, "self") && rm_checkpoint_load(&ctx, teacherp, &teacher)) die(&ctx);
        rm_dataset a = {0}, b = {0};
        if (rm_quant_split(&ctx, &train, &a, &b)) die(&ctx);
        rm_qat_opts o = rm_qat_defaults();
        o.epochs = epochs; o.val = &b; o.cb = progress; o.report_s = 1e9;
        rm_qat_result res;
        t0 = rm_now();
        if (rm_qat(&ctx, q, teacher, &a, &o, &res)) die(&ctx);
        printf("QAT %d epochs on %d images, teacher %s (%.0f s)\n", epochs, a.n, teacherp, rm_now() - t0);
        verify(&ctx, q, &test, "QAT");
        if (teacher != m) rm_model_free(teacher);
        rm_dataset_free(&a); rm_dataset_free(&b);
    }
    if (save && rm_qmodel_save(&ctx, save, q, NULL)) die(&ctx);
    rm_qmodel_free(q);
    rm_model_free(m);
    rm_dataset_free(&train); rm_dataset_free(&test);
    return 0;
}
