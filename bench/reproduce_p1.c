/* reproduce_p1.c - the reference sheet's short-budget protocol P1 on real CIFAR-10 (data_batch_1..5,
 * crop + flip, batch 128, seed 2023): teacher ReLU h=384 (10 epochs CE, AdamW 1e-3 cosine to 1e-5), then
 * students LERP-PSA h=96, ReLU h=96, ReLU h=192, B-spline h=96 with KT 1 epoch per block + KD 10 epochs.
 * Writes checkpoints to runs/p1/ (runs/p1_bf16/ in bf16) and a Markdown table (appended as results arrive)
 * to the given file. precision bf16 runs every product with bf16 inputs (fp32 master weights, optimiser
 * state and elementwise work); students N runs the first N of the four (1: LERP-PSA h=96 only).
 * usage: build/bench/reproduce_p1 [out.md] [teacher_epochs] [kt_epochs] [kd_epochs] [fp32|bf16] [students] */
#include "core/recipe.h"
#include "core/gemm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int progress(void *ud, const rm_train_stats *s, int end) {
    if (end) {
        printf("  %s%d epoch %d/%d loss %.4f %.0f img/s%s", s->phase ? "kt" : "", s->phase ? s->kt_block : 0,
               s->epoch + 1, s->epochs, s->loss, s->imgs_per_s, s->have_test ? "" : "\n");
        if (s->have_test) printf(" test acc %.2f%%\n", 100 * s->test_acc);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *md = argc > 1 ? argv[1] : "bench/p1_results.md";
    int te = argc > 2 ? atoi(argv[2]) : 10, kt = argc > 3 ? atoi(argv[3]) : 1, kd = argc > 4 ? atoi(argv[4]) : 10;
    int prec = argc > 5 ? rm_precision_parse(argv[5]) : RM_PREC_FP32, nst = argc > 6 ? atoi(argv[6]) : 4;
    if (prec < 0 || nst < 0 || nst > 4) { fprintf(stderr, "usage: reproduce_p1 [out.md] [teacher_epochs] [kt_epochs] [kd_epochs] [fp32|bf16] [students 0-4]\n"); return 2; }
    char notice[256] = "";
    if (rm_gemm_set_precision((rm_precision)prec, notice, sizeof notice) != (rm_precision)prec) { fprintf(stderr, "%s\n", notice); return 1; }
    const char *dir = prec == RM_PREC_BF16 ? "runs/p1_bf16" : "runs/p1";
    char tpath[160];
    snprintf(tpath, sizeof tpath, "%s/teacher.safetensors", dir);
    int th = rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset train = {0}, test = {0};
    if (rm_cifar10_load(&ctx, &train, "../shared/data/cifar-10-batches-bin", "train") ||
        rm_cifar10_load(&ctx, &test, "../shared/data/cifar-10-batches-bin", "test")) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    mkdir("runs", 0777); mkdir(dir, 0777);
    FILE *f = fopen(md, "w");
    if (!f) { perror(md); return 1; }
    fprintf(f, "| P1 on this machine, resmlp, %d threads, %s (%s) | accuracy on test_batch.bin (1k) | paper's PyTorch code (P1) | wall time |\n|---|---|---|---|\n",
            th, rm_precision_name((rm_precision)prec), rm_isa_name(rm_gemm_isa()));
    fflush(f);
    rm_model *t = NULL;
    double t0 = rm_now();
    if (rm_checkpoint_load(&ctx, tpath, &t) == RM_OK) {
        printf("teacher: reusing %s\n", tpath);
    } else {
        rm_model_cfg tc = rm_model_default_cfg(RM_ACT_RELU, 384);
        rm_model_new(&ctx, &t, &tc, 2023);
        rm_optim opt;
        rm_optim_cfg oc = rm_optim_default();
        rm_optim_init(&ctx, &opt, t, &oc);
        rm_train_opts o = rm_train_defaults();
        o.epochs = te; o.cb = progress; o.report_s = 1e9;
        rm_train_result r;
        printf("teacher relu h=384, %d epochs\n", te);
        if (rm_train(&ctx, t, &opt, &train, &o, &r)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
        rm_checkpoint_save(&ctx, tpath, t, NULL, NULL);
        rm_optim_free(&opt);
    }
    float acc, loss;
    rm_evaluate(&ctx, t, &test, 250, &acc, &loss);
    printf("teacher test acc %.2f%% (%.0f s)\n", 100 * acc, rm_now() - t0);
    fprintf(f, "| teacher ReLU h=384 (%d epochs CE) | %.1f %% | 72.7 %% | %.0f min |\n", te, 100 * acc, (rm_now() - t0) / 60);
    fflush(f);
    struct { const char *label; int kind, h; const char *ref; } st[] = {
        {"LERP-PSA h=96", RM_ACT_LERP_PSA, 96, "73.3 %"}, {"ReLU h=96", RM_ACT_RELU, 96, "72.9 %"},
        {"ReLU h=192", RM_ACT_RELU, 192, "74.1 %"}, {"B-spline h=96", RM_ACT_BSPLINE, 96, "(not listed)"}};
    for (int i = 0; i < nst; i++) {
        t0 = rm_now();
        rm_model *s = NULL;
        rm_model_cfg sc = rm_model_default_cfg(st[i].kind, st[i].h);
        rm_model_new(&ctx, &s, &sc, 2023);
        rm_recipe_opts ro = rm_recipe_defaults();
        ro.kt_epochs = kt; ro.kd_epochs = kd; ro.cb = progress; ro.report_s = 1e9; ro.test = &test;
        rm_recipe_result rr;
        printf("student %s: KT %d/block + KD %d\n", st[i].label, kt, kd);
        if (rm_recipe_student(&ctx, s, t, &train, &ro, &rr)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
        rm_evaluate(&ctx, s, &test, 250, &acc, &loss);
        char path[192];
        snprintf(path, sizeof path, "%s/%s_h%d.safetensors", dir, rm_act_name(st[i].kind), st[i].h);
        rm_checkpoint_save(&ctx, path, s, NULL, NULL);
        printf("%s test acc %.2f%% (%.0f s)\n", st[i].label, 100 * acc, rm_now() - t0);
        fprintf(f, "| %s student (KT %d/block + KD %d) | %.1f %% | %s | %.0f min |\n", st[i].label, kt, kd, 100 * acc, st[i].ref,
                (rm_now() - t0) / 60);
        fflush(f);
        rm_model_free(s);
    }
    fclose(f);
    rm_model_free(t);
    rm_dataset_free(&train); rm_dataset_free(&test);
    return 0;
}
