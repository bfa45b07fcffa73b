/* bench_net.c - throughput of layer-list nets (issue 11): training img/s (forward + CE + backward +
 * AdamW, batch 128, shuffled real images, the trainer users run) of the MNIST MLP 784-500-300-10 (ReLU,
 * fp32, BN) and of FINN's CNV w1a1 and w2a2 on CIFAR-10; and inference img/s of the float forward against
 * the integer engine (core/bnn.c) for binarised nets: the Vertebral MLP, the MiniMNIST CNN and CNV w1a1
 * (XNOR-popcount), and for nets with n-bit activations (multi-thresholds, code x code products): a w4a4
 * MiniMNIST CNN and CNV w2a2 (all engine paths: AVX-512 VPOPCNTDQ / VNNI where the CPU has it, portable).
 * usage: build/bench/bench_net [--precision fp32|bf16] [--profile] [--cpu] [--train-only] [--infer] [--only NAME] [--path portable|avx512]
 *        [train_images (default 6400)]
 * --precision sets the matmul precision of the training figures (bf16: fp32 master weights, bf16 GEMM
 * inputs; a CPU without bf16 units keeps fp32 with a notice); --profile adds the share of the training
 * step's wall time per kind of operation (core/prof.h) and the per-stage time of each engine path (us per
 * image, the layer index and kind of each stage); --train-only skips the inference figures, --infer the
 * training figures; --only runs the nets whose name contains NAME; --path times that engine path alone (for
 * perf); --cpu: the training profile in process CPU time (on a loaded machine, with 1 thread, a steadier
 * measure than the wall clock). Each training line also
 * gives images per CPU-second of the process (all threads).
 * Prints one line per figure; bench/torch_net_bench.py prints the PyTorch side in the same format. */
#include "core/train.h"
#include "core/net.h"
#include "core/bnn_impl.h"
#include "core/gemm.h"
#include "core/prof.h"
#include "core/table.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "../shared/data"
static int g_profile, g_infer;
static const char *g_only;
static int g_path = -1;   /* --path: one engine path only */
static int wanted(const char *name) { return !g_only || strstr(name, g_only) != NULL; }

static void die(rm_ctx *c, const char *what) { fprintf(stderr, "bench_net: %s: %s\n", what, c->msg); exit(1); }

/* a new net from spec trained for `epochs` on the first `imgs` images of ds (batch 128, no augmentation);
 * returns the model and, in *rate, the img/s of the last epoch */
static rm_model *trained(const char *name, const char *spec, const rm_dataset *ds, int imgs, int epochs, double *rate) {
    rm_ctx c = {0};
    rm_model *m = NULL;
    if (rm_model_new_net(&c, &m, spec, 1)) die(&c, name);
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    if (rm_optim_init(&c, &opt, m, &oc)) die(&c, "optimiser");
    rm_train_opts o = rm_train_defaults();
    o.batch = 128; o.limit = imgs; o.aug = 0;
    rm_train_result r;
    for (int e = 0; e < epochs; e++) {          /* one call per epoch: the last one's rate excludes warm-up */
        o.start_epoch = e; o.epochs = e + 1;
        if (rm_train(&c, m, &opt, ds, &o, &r)) die(&c, name);
    }
    rm_optim_free(&opt);
    if (rate) *rate = r.imgs_per_s;
    return m;
}

/* training img/s: the second of two epochs over `imgs` images (the first creates primitives and caches);
 * with --profile the per-operation shares of that epoch */
static void train_rate(const char *name, const char *spec, const rm_dataset *ds, int imgs) {
    if (g_infer || !wanted(name)) return;
    double rate;
    rm_model *m = trained(name, spec, ds, imgs, 1, NULL);
    rm_ctx c = {0};
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    if (rm_optim_init(&c, &opt, m, &oc)) die(&c, "optimiser");
    rm_train_opts o = rm_train_defaults();
    o.batch = 128; o.limit = imgs; o.aug = 0; o.start_epoch = 1; o.epochs = 2;
    rm_train_result r;
    rm_prof_enable(g_profile);
    int pc = rm_prof_cpu;
    rm_prof_cpu = 2;
    double cpu = rm_prof_clock(), tw = rm_now();
    rm_prof_cpu = pc;
    if (rm_train(&c, m, &opt, ds, &o, &r)) die(&c, name);
    tw = rm_now() - tw;
    rm_prof_cpu = 2;
    cpu = rm_prof_clock() - cpu;
    rm_prof_cpu = pc;
    if (pc) tw = cpu;   /* --cpu: shares of CPU time */
    rm_prof_on = 0;
    rate = r.imgs_per_s;
    printf("resmlp %-22s train %8.0f img/s  (%d images, batch 128, %d threads, %s; %.0f img per CPU-s)\n", name, rate, imgs,
           rm_get_threads(), rm_precision_name(rm_gemm_precision()), imgs / cpu);
    if (g_profile) {
        double sum = 0;
        for (int k = 0; k < RM_PROF_N; k++) sum += rm_prof_t[k];
        for (int k = 0; k < RM_PROF_N; k++)
            if (rm_prof_calls[k])
                printf("    %-28s %5.1f%%  %7.1f ms/step\n", rm_prof_name(k), 100 * rm_prof_t[k] / tw,
                       1e3 * rm_prof_t[k] / r.steps_per_epoch);
        printf("    %-28s %5.1f%%\n", "other (loop, bookkeeping)", sum < tw ? 100 * (tw - sum) / tw : 0.0);
    }
    fflush(stdout);
    rm_optim_free(&opt);
    rm_model_free(m);
}

/* float eval forward vs the integer engine on up to 4,096 images of ds, after one epoch of training so
 * the BN statistics are real */
static void infer_rate(const char *name, const char *spec, const rm_dataset *ds, int train_imgs) {
    if (!wanted(name)) return;
    rm_ctx c = {0};
    rm_model *m = trained(name, spec, ds, train_imgs, 1, NULL);
    int B = 256, n = ds->n < 4096 ? ds->n / B * B : 4096;
    if (n < B) { B = ds->n; n = ds->n; }
    size_t in = rm_model_input_size(m);
    float *x = malloc(sizeof(float) * in * (size_t)n), *logits = malloc(sizeof(float) * (size_t)B * 16);
    int *lab = malloc(sizeof(int) * (size_t)n);
    for (int b = 0; b < n; b += B) {
        int idx[4096];
        for (int i = 0; i < B; i++) idx[i] = b + i;
        rm_make_batch_flat(ds, idx, B, x + (size_t)b * in, lab + b);
    }
    if (rm_model_set_batch(&c, m, B)) die(&c, "set_batch");
    rm_bnet *e = NULL;
    if (rm_bnet_build(&c, m, &e)) die(&c, "bnet_build");
    double tf = 1e30, te[3] = {1e30, 1e30, 1e30};
    double *prof = calloc((size_t)3 * (e->ns + 1), sizeof(double));   /* per path: stages, then the input */
    for (int rep = 0; rep < 3; rep++) {
        double t0 = rm_now();
        for (int b = 0; b < n; b += B)
            if (rm_model_forward(&c, m, x + (size_t)b * in, B, 0, -1)) die(&c, "forward");
        double t = rm_now() - t0;
        if (t < tf) tf = t;
        for (int p = RM_BNN_PORTABLE; p <= RM_BNN_VPOPCNT; p++) {
            if ((g_path >= 0 && p != g_path) || rm_bnet_set_path(e, p) != p) continue;
            t0 = rm_now();
            if (g_profile && rep > 0) rm_bnet_profile(e, prof + (size_t)p * (e->ns + 1));   /* reps 1, 2 */
            for (int b = 0; b < n; b += B)
                if (rm_bnet_forward(&c, e, x + (size_t)b * in, B, logits)) die(&c, "bnet_forward");
            rm_bnet_profile(e, NULL);
            t = rm_now() - t0;
            if (t < te[p]) te[p] = t;
        }
    }
    printf("resmlp %-22s float forward %9.0f img/s", name, n / tf);
    for (int p = RM_BNN_PORTABLE; p <= RM_BNN_VPOPCNT; p++)
        if (te[p] < 1e30) printf(" | int %s %9.0f img/s (%.1fx)", rm_bnn_path_name(p), n / te[p], tf / te[p]);
    printf("  (%d images, batch %d, %d threads)\n", n, B, rm_get_threads());
    for (int p = RM_BNN_PORTABLE; g_profile && p <= RM_BNN_VPOPCNT; p++) {
        if (te[p] >= 1e30) continue;
        const double *t = prof + (size_t)p * (e->ns + 1);
        static const char *kind[] = {"linear", "conv", "pool", "flatten"};
        printf("  profile %-16s us/img: input %.2f", rm_bnn_path_name(p), 1e6 * t[e->ns] / (2.0 * n));
        for (int i = 0; i < e->ns; i++) {
            const bstage *s = &e->st[i];
            printf(" | %d %s%s %.2f", s->layer, kind[s->type], s->type <= S_CONV ? (s->wk == W_BIN ? "/bin" : s->wk == W_PLANES ? "/planes" : "/int") : "",
                   1e6 * t[i] / (2.0 * n));
        }
        printf("\n");
    }
    free(prof);
    fflush(stdout);
    rm_bnet_free(e);
    rm_model_free(m);
    free(x); free(logits); free(lab);
}

int main(int argc, char **argv) {
    int imgs = 6400, train_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) g_profile = 1;
        else if (!strcmp(argv[i], "--cpu")) rm_prof_cpu = 2;
        else if (!strcmp(argv[i], "--train-only")) train_only = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) g_only = argv[++i];
        else if (!strcmp(argv[i], "--path") && i + 1 < argc) {
            i++;
            g_path = !strcmp(argv[i], "portable") ? RM_BNN_PORTABLE : !strncmp(argv[i], "avx512", 6) ? RM_BNN_VPOPCNT : -2;
            if (g_path == -2) { fprintf(stderr, "bench_net: --path portable|avx512, not %s\n", argv[i]); return 2; }
        }
        else if (!strcmp(argv[i], "--infer")) g_infer = 1;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            char note[200] = "";
            int p = rm_precision_parse(argv[++i]);
            if (p < 0) { fprintf(stderr, "bench_net: unknown precision '%s' (fp32, bf16)\n", argv[i]); return 2; }
            rm_gemm_set_precision((rm_precision)p, note, sizeof note);
            if (note[0]) printf("# %s\n", note);
        } else if (atoi(argv[i]) > 0) imgs = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: bench_net [--precision fp32|bf16] [--profile] [--cpu] [--train-only] [--infer] [--only NAME] [--path portable|avx512] [train_images]\n");
            return 2;
        }
    }
    rm_set_threads(0);
    rm_ctx c = {0};
    rm_dataset mnist, cifar, vert, vert_tr, vert_te, mm_tr, mm_te;
    char desc[256];
    rm_gemm_describe(desc, sizeof desc);
    printf("# bench_net  %s\n", desc);
    if (rm_mnist_load(&c, &mnist, DATA "/mnist", "train")) die(&c, "mnist");
    if (rm_cifar10_load(&c, &cifar, DATA "/cifar-10-batches-bin", "train")) die(&c, "cifar10");
    train_rate("mnist_mlp_784-500-300-10", "input=784 linear(500) bn relu linear(300) bn relu linear(10)", &mnist, imgs);
    const char *cnv1 = "input=3x32x32 quant(8) conv(64,w=binary) bn sign conv(64,w=binary) bn sign maxpool(2) "
                       "conv(128,w=binary) bn sign conv(128,w=binary) bn sign maxpool(2) conv(256,w=binary) bn sign "
                       "conv(256,w=binary) bn sign linear(512,w=binary) bn sign linear(512,w=binary) bn sign linear(10,w=binary) bn";
    const char *cnv2 = "input=3x32x32 quant(8) conv(64,w=int2) bn quant(2,range=1) conv(64,w=int2) bn quant(2,range=1) maxpool(2) "
                       "conv(128,w=int2) bn quant(2,range=1) conv(128,w=int2) bn quant(2,range=1) maxpool(2) conv(256,w=int2) bn "
                       "quant(2,range=1) conv(256,w=int2) bn quant(2,range=1) linear(512,w=int2) bn quant(2,range=1) "
                       "linear(512,w=int2) bn quant(2,range=1) linear(10,w=int2) bn";
    train_rate("cnv_w1a1", cnv1, &cifar, imgs / 4);
    train_rate("cnv_w2a2", cnv2, &cifar, imgs / 4);
    if (train_only) return 0;
    rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);   /* inference figures in fp32 */
    if (rm_vertebral_load(&c, &vert, DATA "/vertebral/column_3C.dat", NULL)) die(&c, "vertebral");
    if (rm_split_stratified(&c, &vert, 0.2, 1, &vert_tr, &vert_te)) die(&c, "vertebral split");
    if (rm_minimnist_load(&c, DATA "/mnist", 1, &mm_tr, &mm_te)) die(&c, "minimnist");
    infer_rate("vertebral_mlp_binary", "input=6 linear(32,w=int16) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) "
               "linear(3,w=binary) bn", &vert_tr, 248);
    infer_rate("minimnist_cnn_binary", "input=1x28x28 quant(8) conv(16,pad=1,w=int16) bn sign(grad=reste) conv(32,pad=1,w=binary) "
               "bn sign(grad=reste) maxpool(2) linear(32,w=binary) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) "
               "linear(10,w=binary) bn", &mm_te, 3200);
    infer_rate("cnv_w1a1", cnv1, &cifar, 1280);
    infer_rate("minimnist_cnn_w4a4", "input=1x28x28 quant(8) conv(16,pad=1,w=int8) bn quant(4,range=1) conv(32,pad=1,w=int4) bn "
               "quant(4,range=1) maxpool(2) linear(32,w=int4) bn quant(4,range=1) linear(10,w=int4) bn", &mm_te, 3200);
    infer_rate("cnv_w2a2", cnv2, &cifar, 1280);
    return 0;
}
