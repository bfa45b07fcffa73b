/* bench_live.c - cost of the ncurses live view: the same short training run (LERP-PSA h=96, the model
 * with activation curves to redraw, real CIFAR-10) with plain callbacks, with the live view open on
 * that model redrawing at up to 10 Hz, and plain again; prints the terminal size, both throughputs,
 * the overhead and the time spent drawing. Needs a terminal: run it directly or under tmux
 * (tmux new-session -x 80 -y 24 ...).
 * usage: build/bench/bench_live [images (default 6400)] [result file] */
#include "plots/live.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int plain_cb(void *ud, const rm_train_stats *s, int end) { return 0; }
static int live_cb(void *ud, const rm_train_stats *s, int end) { return rm_live_update(ud, s, end); }

/* one run of `images` images over 2 epochs; live: with the view open on the trained model */
static double run(rm_dataset *ds, int images, int live, double *draw_s) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_LERP_PSA, 96);
    if (rm_model_new(&ctx, &m, &c, 1)) { fprintf(stderr, "%s\n", ctx.msg); exit(1); }
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    rm_optim_init(&ctx, &opt, m, &oc);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 2; o.limit = images / 2; o.report_s = 0.1;
    o.cb = plain_cb;
    rm_live *lv = NULL;
    if (live) {
        lv = rm_live_open(&ctx, m, "bench_live lerp_psa h=96");
        if (!lv) { fprintf(stderr, "%s\n", ctx.msg); exit(1); }
        o.cb = live_cb;
        o.ud = lv;
    }
    rm_train_result r;
    if (rm_train(&ctx, m, &opt, ds, &o, &r)) { if (lv) rm_live_close(lv); fprintf(stderr, "%s\n", ctx.msg); exit(1); }
    if (lv) { *draw_s = rm_live_draw_seconds(lv); rm_live_close(lv); }
    rm_optim_free(&opt);
    rm_model_free(m);
    return r.imgs_per_s;
}

int main(int argc, char **argv) {
    int images = argc > 1 ? atoi(argv[1]) : 6400;
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset ds = {0};
    if (rm_cifar10_load(&ctx, &ds, "../shared/data/cifar-10-batches-bin/data_batch_1.bin", NULL)) { fprintf(stderr, "%s\n", ctx.msg); return 1; }
    struct winsize ws = {0};
    ioctl(1, TIOCGWINSZ, &ws);
    double draw = 0;
    double a = run(&ds, images, 0, NULL);
    double b = run(&ds, images, 1, &draw);
    double c2 = run(&ds, images, 0, NULL);
    char line[320];
    snprintf(line, sizeof line, "live view at %dx%d, lerp_psa h=96, %d images, %d threads: plain %.0f / %.0f img/s, "
             "with live view %.0f img/s, overhead %.1f%%, drawing %.3f s\n", ws.ws_col, ws.ws_row, images, rm_get_threads(),
             a, c2, b, 100 * (1 - b / ((a + c2) / 2)), draw);
    printf("%s", line);
    if (argc > 2) { FILE *f = fopen(argv[2], "w"); if (f) { fputs(line, f); fclose(f); } }
    rm_dataset_free(&ds);
    return 0;
}
