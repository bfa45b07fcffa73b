/* bench_train.c - training and evaluation throughput of the ResMLP on real CIFAR-10 batches
 * (augmentation included), batch 128, for the teacher (ReLU h=384), ReLU h=96 and the KD steps of the
 * LERP-PSA and B-spline h=96 students (teacher forward included); plus OpenBLAS's own sgemm rate on
 * the model's biggest product and the effective GEMM rate of a training step.
 * usage: build/bench/bench_train [images_per_config (default 3840)] */
#include "core/train.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double gemm_flops_per_image(const rm_model_cfg *c) {
    /* multiply-adds x2: embed, per block token mix (T*T*D) + fc1 + fc2, classifier (per image, pooled) */
    double T = c->T, D = c->D, H = c->H;
    return 2.0 * (T * c->P * D + c->L * (T * T * D + 2 * T * D * H) + D * c->K);
}

static double sgemm_rate(int M, int N, int K) {
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)K * N, 4), *c = calloc((size_t)M * N, 4);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = 0.001f * (i % 97);
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = 0.001f * (i % 89);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
    int reps = 20;
    double t0 = rm_now();
    for (int r = 0; r < reps; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
    double dt = rm_now() - t0;
    free(a); free(b); free(c);
    return 2.0 * M * N * K * reps / dt / 1e9;
}

static void run(const char *label, int kind, int h, rm_model *teacher, const rm_dataset *ds, int images) {
    rm_ctx ctx = {0};
    rm_model_cfg cfg = rm_model_default_cfg(kind, h);
    rm_model *m = NULL;
    if (rm_model_new(&ctx, &m, &cfg, 1)) { fprintf(stderr, "%s\n", ctx.msg); exit(1); }
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    rm_optim_init(&ctx, &opt, m, &oc);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 1; o.limit = 256; o.teacher = teacher;       /* warm-up */
    rm_train_result res;
    rm_train(&ctx, m, &opt, ds, &o, &res);
    o.limit = images;
    if (rm_train(&ctx, m, &opt, ds, &o, &res)) { fprintf(stderr, "%s\n", ctx.msg); exit(1); }
    double train = res.imgs_per_s;
    rm_dataset ev = {0};
    rm_dataset_slice(&ctx, &ev, ds, 0, images);
    float acc, loss;
    rm_evaluate(&ctx, m, &ev, 128, &acc, &loss);
    double t0 = rm_now();
    rm_evaluate(&ctx, m, &ev, 128, &acc, &loss);
    double eval = ev.n / (rm_now() - t0);
    double gf = gemm_flops_per_image(&cfg) * 3 * train / 1e9;   /* forward + 2x backward */
    printf("resmlp %-22s %s %7.0f img/s   eval %7.0f img/s   (GEMM work in training: %.0f GFLOP/s)\n", label,
           teacher ? "kd   " : "train", train, eval, gf);
    fflush(stdout);
    rm_dataset_free(&ev);
    rm_optim_free(&opt);
    rm_model_free(m);
}

int main(int argc, char **argv) {
    int images = argc > 1 ? atoi(argv[1]) : 3840;
    int th = rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset ds = {0};
    if (rm_cifar10_load(&ctx, &ds, "../shared/data/cifar-10-batches-bin/data_batch_1.bin", NULL)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    printf("threads %d, batch 128, %d images per measurement\n", th, images);
    printf("openblas sgemm (8192x96)x(96x384): %.0f GFLOP/s; (64x64)x(64x12288): %.0f GFLOP/s\n",
           sgemm_rate(8192, 384, 96), sgemm_rate(64, 12288, 64));
    run("relu h=384 (teacher)", RM_ACT_RELU, 384, NULL, &ds, images);
    run("relu h=96", RM_ACT_RELU, 96, NULL, &ds, images);
    rm_model *t = NULL;
    rm_model_cfg tc = rm_model_default_cfg(RM_ACT_RELU, 384);
    rm_model_new(&ctx, &t, &tc, 7);
    run("relu h=96 student", RM_ACT_RELU, 96, t, &ds, images);
    run("lerp_psa h=96 student", RM_ACT_LERP_PSA, 96, t, &ds, images);
    run("bspline h=96 student", RM_ACT_BSPLINE, 96, t, &ds, images);
    rm_model_free(t);
    rm_dataset_free(&ds);
    return 0;
}
