/* actplot.h - plots of a model's insides, built from the core's curve API and rendered with plot.h:
 * an activation channel's learned curve (the function the model uses, the smooth ResPSA, the LERP
 * table as markers, ReLU for reference, the recorded p1..p99 as a strip on the x axis with p50
 * marked, the grid range [-R, R] marked), a grid of channels (each cell its own y range unless
 * share_y), histograms of weights and of recorded pre-activation inputs, the token-mixing
 * weight heatmap, and the training history. Text or SVG; the caller decides where it goes. */
#ifndef RM_ACTPLOT_H
#define RM_ACTPLOT_H
#include "plot.h"
#include "core/model.h"

typedef struct rm_plot_opts {
    int width, height;      /* text size (columns x rows); SVG pixels when svg */
    int mode;               /* RM_CANVAS_* */
    int colour;
    int svg;                /* 1: SVG document instead of text */
    float lo, hi;           /* x range for curves (lo >= hi: recorded data range or [-R, R]) */
    int share_y;            /* channel grids: one y range for all cells (default: each its own) */
} rm_plot_opts;

/* extra series to overlay on an activation plot (e.g. the INT8 LUT once a model is quantized) */
typedef struct rm_plot_extra {
    const char *name;
    const float *x, *y;
    int n, style;
} rm_plot_extra;

/* one channel (ch_lo == ch_hi) or a grid of channels ch_lo..ch_hi of activation `layer` of `block` */
char *rm_plot_activation(rm_ctx *ctx, const rm_model *m, int block, const char *layer, int ch_lo, int ch_hi,
                         const rm_plot_opts *o, const rm_plot_extra *extra, int nextra);
/* histogram of a parameter tensor: `what` is a full tensor name or block-relative "token", "mlp.0",
 * "mlp.1", "mlp.2", "mlp.3", "embed", "classifier" (weights of that linear layer) */
char *rm_plot_weights_hist(rm_ctx *ctx, const rm_model *m, int block, const char *what, const rm_plot_opts *o);
/* histogram of the pre-activation inputs recorded during the last evaluation */
char *rm_plot_inputs_hist(rm_ctx *ctx, const rm_model *m, int block, const char *layer, const rm_plot_opts *o);
/* heatmap of the 64x64 token-mixing weights of a block */
char *rm_plot_token_heatmap(rm_ctx *ctx, const rm_model *m, int block, const rm_plot_opts *o);

/* per-epoch history the host records during training */
#define RM_HIST_MAX 4096
typedef struct rm_history {
    int n;
    float train_loss[RM_HIST_MAX], train_acc[RM_HIST_MAX], test_loss[RM_HIST_MAX], test_acc[RM_HIST_MAX];
    int have_test;
} rm_history;
void rm_history_add(rm_history *h, float train_loss, float train_acc, int have_test, float test_loss, float test_acc);
char *rm_plot_history(rm_ctx *ctx, const rm_history *h, const rm_plot_opts *o);
#endif
