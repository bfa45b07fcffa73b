/* bench_train.c - training and evaluation throughput of the ResMLP on real CIFAR-10 batches
 * (augmentation included), batch 128, for the teacher (ReLU h=384), ReLU h=96 and the KD steps of the
 * LERP-PSA and B-spline h=96 students (teacher forward included); plus OpenBLAS's own sgemm rate on
 * the model's biggest product and the effective GEMM rate of a training step.
 * usage: build/bench/bench_train [--profile] [--cpu] [--precision fp32|bf16] [--only LABEL] [images_per_config (default 3840)]
 * --profile adds, per configuration, the share of the training step's wall time spent in each kind of
 * operation (core/prof.h), so the next bottleneck is visible. --cpu: the profile counts the main thread's
 * CPU time instead of wall time, and each line adds the process's CPU seconds per 1,000 training images
 * (getrusage): with RESMLP_THREADS=1 on a machine other jobs load, these are the figures to compare. */
#include "core/train.h"
#include "core/prof.h"
#include "core/gemm.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

static int profile, cpu;
static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + 1e-6 * u.ru_utime.tv_usec + u.ru_stime.tv_sec + 1e-6 * u.ru_stime.tv_usec;
}
static const char *only;

static void print_profile(double wall) {
    double sum = 0;
    for (int k = 0; k < RM_PROF_N; k++) sum += rm_prof_t[k];
    printf("    profile of %.2f s of training steps (%s time):\n", wall, cpu ? "main thread's CPU" : "wall");
    for (int k = 0; k < RM_PROF_N; k++)
        if (rm_prof_calls[k]) printf("      %-26s %6.1f%%  %8.0f ms  (%ld calls)\n", rm_prof_name(k), 100 * rm_prof_t[k] / wall,
               1e3 * rm_prof_t[k], rm_prof_calls[k]);
    printf("      %-26s %6.1f%%\n", "other (loop, bookkeeping)", sum < wall ? 100 * (wall - sum) / wall : 0.0);
}

static void run(const char *label, int kind, int h, rm_model *teacher, const rm_dataset *ds, int images) {
    if (only && !strstr(label, only)) return;
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
    rm_prof_enable(profile);
    double tw = rm_prof_clock(), tc = cpu_seconds();
    if (rm_train(&ctx, m, &opt, ds, &o, &res)) { fprintf(stderr, "%s\n", ctx.msg); exit(1); }
    tw = rm_prof_clock() - tw;
    tc = cpu_seconds() - tc;
    double prof_t[RM_PROF_N];
    long prof_c[RM_PROF_N];
    memcpy(prof_t, rm_prof_t, sizeof prof_t);
    memcpy(prof_c, rm_prof_calls, sizeof prof_c);
    rm_prof_enable(0);
    double train = res.imgs_per_s;
    rm_dataset ev = {0};
    rm_dataset_slice(&ctx, &ev, ds, 0, images);
    float acc, loss;
    rm_evaluate(&ctx, m, &ev, 128, &acc, &loss);
    double t0 = rm_now();
    rm_evaluate(&ctx, m, &ev, 128, &acc, &loss);
    double eval = ev.n / (rm_now() - t0);
    double gf = gemm_flops_per_image(&cfg) * 3 * train / 1e9;   /* forward + 2x backward */
    printf("resmlp %-22s %s %7.0f img/s   eval %7.0f img/s   (GEMM work in training: %.0f GFLOP/s)", label,
           teacher ? "kd   " : "train", train, eval, gf);
    if (cpu) printf("   CPU %.3f s / 1000 img", tc * 1000 / res.images);
    printf("\n");
    if (profile) {
        memcpy(rm_prof_t, prof_t, sizeof prof_t);
        memcpy(rm_prof_calls, prof_c, sizeof prof_c);
        print_profile(tw);
    }
    fflush(stdout);
    rm_dataset_free(&ev);
    rm_optim_free(&opt);
    rm_model_free(m);
}

int main(int argc, char **argv) {
    int images = 3840;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (!strcmp(argv[i], "--cpu")) cpu = rm_prof_cpu = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            char note[200] = "";
            int p = rm_precision_parse(argv[++i]);
            if (p < 0) { fprintf(stderr, "bench_train: unknown precision '%s' (fp32, bf16)\n", argv[i]); return 2; }
            rm_gemm_set_precision((rm_precision)p, note, sizeof note);
            if (note[0]) printf("%s\n", note);
        } else if (atoi(argv[i]) > 0) images = atoi(argv[i]);
        else { fprintf(stderr, "usage: bench_train [--profile] [--cpu] [--precision fp32|bf16] [--only LABEL] [images]\n"); return 2; }
    }
    int th = rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset ds = {0};
    if (rm_cifar10_load(&ctx, &ds, "../shared/data/cifar-10-batches-bin/data_batch_1.bin", NULL)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    char gd[300];
    rm_gemm_describe(gd, sizeof gd);
    printf("threads %d, batch 128, %d images per measurement; %s\n", th, images, gd);
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
