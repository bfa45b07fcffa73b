/* bench_live.c - cost of the ncurses live view: the same short training run (ReLU h=96, real CIFAR-10)
 * with plain callbacks and with the live view redrawing at up to 10 Hz; prints both throughputs and
 * the time spent drawing. Needs a terminal: run it directly or under tmux.
 * usage: build/bench/bench_live [images (default 6400)] [result file] */
#include "plots/live.h"
#include <stdio.h>
#include <stdlib.h>

static int plain_cb(void *ud, const rm_train_stats *s, int end) { return 0; }
static int live_cb(void *ud, const rm_train_stats *s, int end) { return rm_live_update(ud, s, end); }

static double run(rm_dataset *ds, int images, rm_live *lv) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_LERP_PSA, 96);
    rm_model_new(&ctx, &m, &c, 1);
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    rm_optim_init(&ctx, &opt, m, &oc);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 2; o.limit = images / 2; o.report_s = 0.1;
    o.cb = lv ? live_cb : plain_cb;
    o.ud = lv;
    rm_train_result r;
    if (lv) { rm_live_close(lv); lv = rm_live_open(&ctx, m, "bench_live"); o.ud = lv; }
    rm_train(&ctx, m, &opt, ds, &o, &r);
    double draw = lv ? rm_live_draw_seconds(lv) : 0;
    if (lv) rm_live_close(lv);
    rm_optim_free(&opt);
    rm_model_free(m);
    if (lv) fprintf(stderr, "draw time %.3f s\n", draw);
    return r.imgs_per_s;
}

int main(int argc, char **argv) {
    int images = argc > 1 ? atoi(argv[1]) : 6400;
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset ds = {0};
    if (rm_cifar10_load(&ctx, &ds, "../shared/data/cifar-10-batches-bin/data_batch_1.bin", NULL)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    double a = run(&ds, images, NULL);
    rm_model *dummy = NULL;
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_RELU, 8);
    rm_model_new(&ctx, &dummy, &c, 1);
    rm_live *lv = rm_live_open(&ctx, dummy, "bench_live");
    if (!lv) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    double b = run(&ds, images, lv);
    double c2 = run(&ds, images, NULL);
    char line[256];
    snprintf(line, sizeof line, "live view: plain %.0f / %.0f img/s, with live view %.0f img/s, overhead %.1f%%\n", a, c2, b,
             100 * (1 - b / ((a + c2) / 2)));
    printf("%s", line);
    if (argc > 2) { FILE *f = fopen(argv[2], "w"); if (f) { fputs(line, f); fclose(f); } }
    rm_model_free(dummy);
    rm_dataset_free(&ds);
    return 0;
}
