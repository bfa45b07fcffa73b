/* bench_int.c - images/s of the integer-only engine (int8 storage, int32 accumulation) for LERP-PSA h=96
 * and ReLU h=192, every engine path, 1 and 2 threads, on real CIFAR-10 test images (pixels in, int8
 * logits out: input quantisation, all layers, tables, pooling, classifier). The speed does not depend
 * on the weights, so by default each network is a freshly initialised model, post-training quantised
 * on 500 training images; pass trained quantised models to measure those instead.
 *
 * usage: build/bench/bench_int [--images N] [--data DIR] [--lerp Q.safetensors] [--relu Q.safetensors]
 *                              [--save DIR] [--threads "1 2"] [--prune S]
 *   --prune S: SIMD-block prune every Linear of the fresh models to sparsity S (auto SIMD per layer, L1)
 *   before quantising; the engines then skip the pruned blocks (compare with a run without it). An extra row
 *   times the portable engine on the same weights with the masks cleared (its dense loops).
 *   --save DIR writes DIR/lerp_psa_h96.int8.safetensors, DIR/relu_h192.int8.safetensors and the int8 logits of
 *   the first 200 test images (DIR/<name>.logits.i8) for bench/numpy_int.py to check itself against and time.
 * Prints a Markdown table. Run on an otherwise idle machine. */
#include "core/quant.h"
#include "core/prune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(rm_ctx *ctx) { fprintf(stderr, "bench_int: %s\n", ctx->msg); exit(1); }

static double g_prune = 0;

static rm_qnet *make_net(rm_ctx *ctx, int kind, int H, const rm_dataset *train, const char *path, rm_qmodel **qout) {
    rm_qnet *net = NULL;
    if (path) {
        if (rm_qmodel_load(ctx, path, qout, &net)) die(ctx);
        return net;
    }
    rm_model_cfg cfg = rm_model_default_cfg(kind, H);
    rm_model *m = NULL;
    if (rm_model_new(ctx, &m, &cfg, 1)) die(ctx);
    if (g_prune > 0 && rm_prune_step(ctx, m, NULL, g_prune, RM_PRUNE_L1)) die(ctx);
    rm_folded *f = NULL;
    if (rm_fold(ctx, m, &f)) die(ctx);
    rm_qmodel *q = NULL;
    if (rm_qmodel_new(ctx, &q, f, 1, train)) die(ctx);
    rm_dataset a = {0}, b = {0};
    if (rm_dataset_slice(ctx, &a, train, 0, 400) || rm_dataset_slice(ctx, &b, train, 400, 100)) die(ctx);
    rm_calib_opts co = rm_calib_defaults();
    rm_calib_result cr;
    if (rm_quant_calibrate(ctx, q, &a, &b, &co, &cr) || rm_quant_export(ctx, q, &net)) die(ctx);
    rm_dataset_free(&a); rm_dataset_free(&b);
    rm_model_free(m);
    *qout = q;
    return net;
}

/* best of 3 runs over n images */
static double rate(rm_ctx *ctx, const rm_qnet *net, int path, const uint8_t *pix, int n, int8_t *z) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = rm_now();
        if (rm_ie_run(ctx, net, path, pix, n, z, NULL)) die(ctx);
        double v = n / (rm_now() - t0);
        best = v > best ? v : best;
    }
    return best;
}

int main(int argc, char **argv) {
    int images = 20000;
    const char *data = "../shared/data/cifar-10-batches-bin", *lerp = NULL, *relu = NULL, *save = NULL, *threads = "1 2";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--images")) images = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--lerp")) lerp = argv[i + 1];
        else if (!strcmp(argv[i], "--relu")) relu = argv[i + 1];
        else if (!strcmp(argv[i], "--save")) save = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) threads = argv[i + 1];
        else if (!strcmp(argv[i], "--prune")) g_prune = atof(argv[i + 1]);
        else { fprintf(stderr, "bench_int: unknown option %s\n", argv[i]); return 2; }
    }
    rm_ctx ctx = {0};
    rm_set_threads(0);
    rm_dataset train = {0}, test = {0};
    char p[1024];
    snprintf(p, sizeof p, "%s/data_batch_1.bin", data);
    if (rm_cifar10_load(&ctx, &train, p, NULL) || rm_cifar10_load(&ctx, &test, data, "test")) die(&ctx);
    if (images < 200) { fprintf(stderr, "bench_int: --images must be at least 200 (the logits of 200 are compared)\n"); return 2; }
    const size_t chw = 3072;
    uint8_t *pix = malloc((size_t)images * chw);
    for (int i = 0; i < images; i++) memcpy(pix + (size_t)i * chw, test.pixels + (size_t)(i % test.n) * chw, chw);
    int8_t *z = malloc((size_t)images * 10), *z0 = malloc((size_t)images * 10);
    struct { const char *name; int kind, H; const char *path; } nets[2] = {
        {"lerp_psa_h96", RM_ACT_LERP_PSA, 96, lerp}, {"relu_h192", RM_ACT_RELU, 192, relu}};
    if (g_prune > 0) printf("SIMD-block pruned to sparsity %g (auto SIMD per layer)\n\n", g_prune);
    printf("| network | engine | threads | images/s |\n|---|---|---|---|\n");
    for (int k = 0; k < 2; k++) {
        rm_qmodel *q = NULL;
        rm_qnet *net = make_net(&ctx, nets[k].kind, nets[k].H, &train, nets[k].path, &q);
        if (save) {
            snprintf(p, sizeof p, "%s/%s.int8.safetensors", save, nets[k].name);
            if (q ? rm_qmodel_save(&ctx, p, q, net) : 0) die(&ctx);
            if (rm_ie_run(&ctx, net, RM_IE_AUTO, test.pixels, 200, z, NULL)) die(&ctx);
            snprintf(p, sizeof p, "%s/%s.logits.i8", save, nets[k].name);
            FILE *f = fopen(p, "wb");
            if (!f || fwrite(z, 1, 2000, f) != 2000) { fprintf(stderr, "bench_int: cannot write %s\n", p); return 1; }
            fclose(f);
        }
        if (rm_ie_run(&ctx, net, RM_IE_REF, pix, 200, z0, NULL)) die(&ctx);
        for (const char *t = threads; *t;) {
            int nt = (int)strtol(t, (char **)&t, 10);
            if (nt < 1) break;
            rm_set_threads(nt);
            for (int path = RM_IE_AMX; path >= RM_IE_REF; path--) {   /* amx only where the CPU has it */
                if (!rm_ie_path_available(path, net)) continue;
                int n = path == RM_IE_REF ? 400 : path == RM_IE_PORTABLE ? 2000 : images;
                if (n > images) n = images;   /* pix and z hold `images` images */
                double r = rate(&ctx, net, path, pix, n, z);
                int same = !memcmp(z, z0, 2000);
                printf("| %s | %s | %d | %.0f%s |\n", nets[k].name, rm_ie_path_name(path), nt, r, same ? "" : " (LOGITS DIFFER)");
                fflush(stdout);
            }
            if (g_prune > 0 && q) {   /* the portable engine on the same weights without the masks (dense loops) */
                rm_qnet *dn = NULL;
                if (rm_quant_export(&ctx, q, &dn)) die(&ctx);
                rm_qlin *ls[3 + 3 * RM_MAXL];
                int nl = 0;
                ls[nl++] = &dn->embed; ls[nl++] = &dn->cls;
                for (int l = 0; l < dn->L; l++) { ls[nl++] = &dn->blk[l].lin; ls[nl++] = &dn->blk[l].fc1; ls[nl++] = &dn->blk[l].fc2; }
                for (int i = 0; i < nl; i++) if (rm_qnet_set_pruned(&ctx, dn, ls[i], 1, NULL)) die(&ctx);
                if (rm_qnet_prepare(&ctx, dn)) die(&ctx);
                int n = images < 2000 ? images : 2000;
                double r = rate(&ctx, dn, RM_IE_PORTABLE, pix, n, z);
                printf("| %s | portable, same weights without masks | %d | %.0f%s |\n", nets[k].name, nt, r, memcmp(z, z0, 2000) ? " (LOGITS DIFFER)" : "");
                fflush(stdout);
                rm_qnet_free(dn);
            }
        }
        rm_set_threads(0);
        rm_qnet_free(net);
        rm_qmodel_free(q);
    }
    free(pix); free(z); free(z0);
    rm_dataset_free(&train); rm_dataset_free(&test);
    return 0;
}
